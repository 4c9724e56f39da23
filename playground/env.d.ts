// Modules the playground's build provides (scripts/build-playground.mjs).

declare module 'vdm:examples' {
  const examples: { file: string; text: string }[];
  export default examples;
}
