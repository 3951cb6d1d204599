// Vite's `?raw` imports: a file's text, read at build time (used to compare wrangler.toml with code).
declare module "*?raw" {
  const content: string;
  export default content;
}
