/** What an action answers in the page's status line. */
export function actionResult(message: string, ok = true) {
  return <span class={ok ? "ok" : "error"}>{message}</span>;
}
