/** aedes-persistence-level ships no types; aedes itself types its `persistence` option as `any`. */
declare module 'aedes-persistence-level' {
  import type { ClassicLevel } from 'classic-level';
  // It picks each call's value encoding itself, so the store's default encodings do not matter.
  export default function persistenceLevel(db: ClassicLevel<string, string>): unknown;
}
