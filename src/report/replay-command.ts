// The command line that replays one execution, as `vdm check` prints it and the race diagram
// ends with. No node: imports: the browser playground uses it too.

/** The design flags of a command line: `--design NAME` and `--option key=value`, as given. */
export interface DesignFlags {
  design?: string;
  option?: string[];
}

/** A word for a POSIX shell: as it is when it is safe, else single-quoted. */
export const shellQuote = (s: string): string =>
  /^[\w./:@=,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;

/** The flags that recreate the design on another command line. */
export function designArgs(f: DesignFlags): string {
  return [
    ...(f.design ? [`--design ${f.design}`] : []),
    ...(f.option ?? []).map((o) => `--option ${o}`),
  ].join(' ');
}

/** `vdm replay FILE [design flags] --schedule S`, every word quoted for the shell. */
export function replayCommand(file: string, schedule: string, f: DesignFlags | string): string {
  const args = typeof f === 'string' ? f : designArgs(f);
  return ['vdm replay', shellQuote(file), args, '--schedule', shellQuote(schedule)].filter(Boolean).join(' ');
}
