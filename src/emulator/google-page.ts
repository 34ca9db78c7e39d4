/**
 * The consent page of the emulator's stand-in for Google's sign-in: one
 * account, prefilled from `login_hint`, and a "Continue as <name>" button.
 */
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function googleConsentPage(fields: { state: string; email: string; name: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in with Google</title>
<style>body{font:15px system-ui,sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.3rem 0}
input,button{padding:.5rem;box-sizing:border-box}</style></head>
<body>
  <h1>Sign in with Google</h1>
  <p>Google, as emulated by the Cognito emulator</p>
  <form method="post" action="/_google/consent">
    <input type="hidden" name="state" value="${escape(fields.state)}">
    <label for="email">Google account</label>
    <input id="email" name="email" type="email" autocomplete="username" value="${escape(fields.email)}" required>
    <button id="continue" type="submit">Continue as ${escape(fields.name)}</button>
  </form>
</body></html>`;
}
