/**
 * The two error shapes the emulator answers with: Cognito's JSON API
 * (`__type` + `x-amzn-ErrorType`) and OAuth 2.0 (`{"error": ...}`).
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/CommonErrors.html
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
import type { Response } from "express";

export const AMZ_JSON = "application/x-amz-json-1.1";

/** An error as the AWS SDK's awsJson1_1 protocol parses it into an exception class named `code`. */
export function writeAwsError(res: Response, code: string, status: number, message: string): void {
  res
    .status(status)
    .setHeader("x-amzn-ErrorType", code)
    .setHeader("x-amzn-ErrorMessage", message)
    .type(AMZ_JSON)
    .send(JSON.stringify({ __type: code, message }));
}

/** An OAuth error body; no-store like every token endpoint answer. */
export function writeOAuthError(res: Response, error: string, status = 400): void {
  res.status(status).setHeader("Cache-Control", "no-store").json({ error });
}

/** The status Cognito uses for an error code when a fault does not name one. */
export function defaultStatus(code: string): number {
  return code === "InternalErrorException" || code === "server_error" ? 500 : 400;
}
