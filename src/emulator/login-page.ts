/** The Hosted UI sign-in form and error page. */
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function loginPage(params: Record<string, string>, error?: string): string {
  const hidden = Object.entries(params)
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join("\n      ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<style>body{font:15px system-ui,sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.3rem 0}
input,button{padding:.5rem;box-sizing:border-box}.error{color:#b00020}</style></head>
<body>
  <h1>Sign in</h1>
  <p>Cognito emulator</p>
  ${error ? `<p class="error" role="alert">${escape(error)}</p>` : ""}
  <form method="post" action="/login">
      ${hidden}
    <label for="username">Username or email</label>
    <input id="username" name="username" type="text" autocomplete="username" required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>
</body></html>`;
}

export function errorPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><h1>An error was encountered</h1><p>${escape(message)}</p></body></html>`;
}
