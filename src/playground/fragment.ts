// The playground's state in the URL fragment: the scenario's text (lz-string, URL-safe), the design
// and its options, Run or Compare, and whether opening the link runs it. The fragment never reaches
// a server; everything decoded here is untrusted: the design and options are kept only when they
// name a real design and real option values, and the text is bounded like a scenario file.

// lz-string is CommonJS: its functions are properties of the default export under Node's ESM.
import LZString from 'lz-string';
import { DESIGN_NAMES, type DesignName, type DesignOptions, OPTION_VALUES } from '../designs/design.js';
import { MAX_SCENARIO_BYTES } from '../scenario/limits.js';

export type PlaygroundMode = 'check' | 'compare';

export interface PlaygroundState {
  /** The scenario's YAML. */
  scenario: string;
  /** The file name shown in messages (`reset-races-fault.yaml`). */
  file: string;
  /** The design to check on; absent: the scenario's own `design:`. */
  design?: DesignName;
  /** Options that differ from the design's defaults. */
  options: Partial<DesignOptions>;
  mode: PlaygroundMode;
  /** Run as soon as the page opens (`run=1`). */
  run: boolean;
}

/** The fragment (without `#`) that reopens `state`. */
export function encodeFragment(state: PlaygroundState): string {
  const p = new URLSearchParams();
  p.set('s', LZString.compressToEncodedURIComponent(state.scenario));
  p.set('f', state.file);
  if (state.design) p.set('d', state.design);
  const opts = Object.entries(state.options);
  if (opts.length > 0) p.set('o', opts.map(([k, v]) => `${k}=${String(v)}`).join(','));
  p.set('m', state.mode);
  if (state.run) p.set('run', '1');
  return p.toString();
}

export interface DecodedFragment {
  state?: PlaygroundState;
  /** What was dropped or refused, for the page to say. */
  notes: string[];
}

const FILE_NAME = /^[\w.+-]{1,100}$/;

/** Reads a fragment (with or without `#`); returns no state when it carries no scenario. */
export function decodeFragment(hash: string): DecodedFragment {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const notes: string[] = [];
  const s = p.get('s');
  if (s === null) return { notes };
  // A compressed text expands at most about 20-fold; the bound is checked on both sides.
  if (s.length > MAX_SCENARIO_BYTES) return { notes: ['the link’s scenario is too large'] };
  const scenario = LZString.decompressFromEncodedURIComponent(s);
  if (typeof scenario !== 'string' || (scenario === '' && s !== '')) {
    return { notes: ['the link’s scenario could not be decompressed'] };
  }
  if (scenario.length > MAX_SCENARIO_BYTES) return { notes: ['the link’s scenario is too large'] };
  const f = p.get('f');
  const file = f !== null && FILE_NAME.test(f) ? f : 'scenario.yaml';
  if (f !== null && file !== f) notes.push('the link’s file name was replaced by scenario.yaml');
  const state: PlaygroundState = {
    scenario,
    file,
    options: {},
    mode: p.get('m') === 'compare' ? 'compare' : 'check',
    run: p.get('run') === '1',
  };
  const d = p.get('d');
  if (d !== null && d !== '') {
    if ((DESIGN_NAMES as readonly string[]).includes(d)) state.design = d as DesignName;
    else notes.push('the link names a design that does not exist; the scenario’s own is used');
  }
  const o = p.get('o');
  if (o && state.design) {
    for (const item of o.split(',')) {
      const [k, raw] = item.split('=', 2) as [string, string | undefined];
      const values = Object.hasOwn(OPTION_VALUES, k)
        ? (OPTION_VALUES as Record<string, readonly unknown[]>)[k]!
        : undefined;
      const v = values?.find((x) => String(x) === raw);
      if (values && v !== undefined) (state.options as Record<string, unknown>)[k] = v;
      else notes.push('the link sets a design option that does not exist, or a value it does not take');
    }
  }
  return { state, notes: [...new Set(notes)] };
}
