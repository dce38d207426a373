import { Page } from "./layout.tsx";

export function NotFound({ what }: { what: string }) {
  return (
    <Page title="Not found">
      <h1>No such {what}</h1>
      <p>It may have expired from the journal, or the id is mistyped.</p>
    </Page>
  );
}
