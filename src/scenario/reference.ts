// The scenario reference, docs/scenarios.md, generated from the JSON Schema of scenario files
// (schema.ts) and the operation table (ops.ts): the keys with their types, defaults and meaning,
// and every operation with its kernel entry, arguments, the handle it creates and what it waits
// for. scripts/gen-scenario-docs.mjs writes it; a test keeps the committed file equal to it, and
// a key of the schema without a description here is an error, so the reference cannot fall behind.

import { DESIGN_NAMES, DESIGNS, OPTION_VALUES } from '../designs/design.js';
import { INVARIANT_IDS } from '../invariants/system.js';
import { HANDLE_NAMES, type HandleKind, OP_NAMES, OPS, OUTCOMES } from './ops.js';
import { ALL_IDS, EXPLORER_IDS, scenarioJsonSchema } from './schema.js';
import { SIZE_PATTERN } from './size.js';

/** The part of JSON Schema that zod writes for scenarios. */
export interface JsonSchema {
  $schema?: string;
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minLength?: number;
  pattern?: string;
  default?: unknown;
  description?: string;
}

interface FieldDoc {
  doc: string;
  /** The default when the key is left out, as the loader or the model applies it. */
  default?: string;
  /** A type to print instead of the one read from the schema. */
  type?: string;
}

/** Every key of a scenario file, by path (`devices.bars.size`): what it means and its default. */
const FIELDS: Record<string, FieldDoc> = {
  name: { doc: 'The scenario’s title, shown in reports and in `--json` output.' },
  description: { doc: 'What the scenario shows, in prose (a folded `>` block reads well).' },
  machine: { doc: 'The CPU side of the model.', default: '`{ arch: x86_64, thp: always }`' },
  'machine.arch': {
    doc: 'The page-table format; `x86_64-nospecial` is x86_64 without the PMD/PUD special bit, so no huge pfnmap leaf can be installed.',
    default: '`x86_64`',
  },
  'machine.thp': {
    doc: '`/sys/kernel/mm/transparent_hugepage/enabled`: `madvise` tries huge faults only in `madvise: hugepage` mappings, `never` not at all.',
    default: '`always`',
  },
  'machine.lockChains': {
    doc: "Lock dependencies the rest of the kernel makes (perf, kernfs, CPU hotplug, the IOMMU core) that lockdep takes as observed, each a chain of lockdep class names (`[&vdev->memory_lock, &group->mutex, &mm->mmap_lock]` declares memory_lock -> group->mutex -> mmap_lock). A cycle through them and the scenario's own lock dependencies is a LOCK_ORDER violation; a cycle of declared dependencies alone is not reported. Class names are the kernel's (`vdm lockdep` prints them); a name the model has no lock for is a class of its own.",
    default: 'none',
  },
  devices: { doc: 'The VFIO PCI devices, each with its memory BARs.', type: 'list of devices (at least 1)' },
  'devices.name': { doc: 'The name `open` and `dma` use.' },
  'devices.driver': {
    doc: 'The vfio-pci driver bound to the device: `vfio-pci`, or the variant driver `nvgrace-gpu` (see [Drivers](#drivers)).',
    default: '`vfio-pci`',
  },
  'devices.bars': { doc: 'The memory BARs.', type: 'list of BARs (at least 1)' },
  'devices.bars.index': { doc: 'The BAR number: the `region` of `mmap`, `pread`, `pwrite` and `export`.' },
  'devices.bars.size': {
    doc: 'A power of two of at least 4K (an `nvgrace-gpu` memory region: its length, a whole number of pages).',
  },
  'devices.bars.phys': {
    doc: 'The physical address: naturally aligned (a multiple of `size`; an `nvgrace-gpu` memory region: page aligned); no two BARs of the scenario may overlap.',
  },
  'devices.bars.structPages': {
    doc: 'MMIO with struct pages (ZONE_DEVICE / P2PDMA) rather than a bare pfn range.',
    default: '`false`',
  },
  'devices.reset': { doc: 'Whether the device supports VFIO_DEVICE_RESET.', default: '`true`' },
  'devices.noCommandMemory': {
    doc: 'An SR-IOV VF: no memory bit in its command register (`pdev->no_command_memory`), so memory counts as enabled whatever `command` writes.',
    default: '`false`',
  },
  'devices.ats': {
    doc: 'The function supports ATS (`pci_ats_supported()`) behind the IOMMU. From v7.0 (design option `resetPreparesIommu`) its resets — `reset`, `flr`, and the reset at close — call `pci_dev_reset_iommu_prepare()` and `pci_dev_reset_iommu_done()`, each of which takes the IOMMU group’s mutex (`&group->mutex`): inside `&vdev->memory_lock` for `reset` and `flr`. Without ATS both return at once.',
    default: '`false`',
  },
  design: {
    doc: 'The kernel design to model: a name, or `{ name, ...options }` to change some of its options (see [Designs](#designs)).',
    default: '`upstream`',
    type: 'design name, or mapping',
  },
  processes: {
    doc: 'The processes that exist from the start, each with the threads that run in it; a process created by `fork` may also be listed, and its threads start once it exists. The first process listed is where setup runs.',
    default: 'one process, `main`, running every thread',
    type: 'mapping: process name → list of thread names',
  },
  setup: {
    doc: 'Operations run once, in order, before the threads start; not explored (see [Setup](#setup)).',
    default: 'none',
    type: 'list of operations',
  },
  threads: {
    doc: 'The concurrent threads, each a list of operations run in order; the explorer interleaves them.',
    type: 'mapping: thread name → list of operations',
  },
  check: { doc: 'How `vdm check` explores (see [check](#check)).', default: '`{}`' },
  'check.strategy': {
    doc: '`dpor`: one execution per Mazurkiewicz trace; `exhaustive`: every interleaving; `random` and `pct` (probabilistic concurrency testing): sampled executions.',
    default: '`dpor`',
  },
  'check.invariants': {
    doc: 'The invariants checked after every event: `all`, or a list of ids. The explorer’s own checks (deadlock, lock order, errors, `expect`) always run.',
    default: '`all`',
    type: '`all`, or list of invariant ids',
  },
  'check.maxExecutions': {
    doc: 'Most executions to run; a search stopped by it is reported incomplete.',
    default:
      'unlimited for `dpor` and `exhaustive`, 1000 for `random` and `pct` (`vdm compare`: 20000 per design)',
  },
  'check.preemptionBound': {
    doc: 'Most preemptions (switches away from a thread that could go on) per execution.',
    default: 'unbounded',
  },
  'check.seed': { doc: 'The seed of `random` and `pct`.', default: '`1`' },
  'check.maxSteps': {
    doc: 'Most events in one execution; a thread that never stops is reported.',
    default: '`200000`',
  },
  'check.lazyLocks': {
    doc: 'dpor only: explore two critical sections of a lock in both orders only when something in them conflicts (lazy locks, see docs/explorer.md). Off: every order of every acquisition, as an eager search does; the verdict is the same, the count of executions larger.',
    default: '`true`',
  },
  'check.foldStates': {
    doc: "dpor only, one worker, no preemption bound: end an execution at the top of a retry-loop iteration (a fault retried, a zap loop going round) whose whole state — shared data and every thread's local state — a finished part of the search already started from, after reversing the races what ran from there has with what ran before (state folding, see docs/explorer.md). For designs whose retry loops undo each other (the vma_list designs v5.8, v5.13 and v6.9): far fewer executions there, more on designs without such loops, hence the default. `vdm check --fold-states` / `--no-fold-states` override it.",
    default: '`true` on the vma_list designs (v5.8, v5.13, v6.9), else `false`',
  },
  'check.readOnlySections': {
    doc: "Let the critical sections the model marks read-only (a dma-buf fault's check under the reservation lock) overlap each other, so that two of them are never explored in both orders (a reduction, see docs/explorer.md). Off: they take the lock exclusively, as the kernel does; the verdict is the same, the count of executions larger.",
    default: '`true`',
  },
  'check.stopAtFirst': {
    doc: 'Stop at the first execution that shows every expected violation (or, when none is expected, at the first violation): a quick answer; the search is reported incomplete (`stopAtFirst`).',
    default: '`false`',
  },
  'check.timeLimit': {
    doc: 'Stop after this long (`30s`, `2m`, or milliseconds); the search is reported incomplete (`timeLimit`).',
    default: 'none',
  },
  expect: { doc: 'The verdict `vdm check` gives (see [expect](#expect)).', default: '`{ violations: [] }`' },
  'expect.violations': {
    doc: 'The ids that must be found; `[]`: none may be.',
    type: 'list of invariant or explorer ids',
  },
  'expect.exactly': { doc: 'Whether the ids found must be exactly those listed.', default: '`false`' },
  'expect.designs': {
    doc: 'Per-design expectations: design name → the ids that design must show (`[]`: none). `check` and `compare` judge a design named here by its own list (“this design has the bug / does not”), any other by `violations`.',
    type: 'mapping of design name to list of ids',
    default: 'none',
  },
};

/** What the loader checks about an operation beyond its arguments' types. */
const OP_NOTES: Partial<Record<string, string>> = {
  open: '`device` names a device of `devices`.',
  dma: '`device` names a device of `devices`.',
  send: '`to` names a process of `processes` or one a `fork` creates.',
  map_dma:
    'Exactly one of `ioas` (iommufd’s type1 compat; `backend: iommufd`) and `container` (`backend: type1`); a `backend` that does not go with it is an error.',
};

/** Argument types clearer than the schema's `name`. */
const ARG_TYPES: Record<string, string> = { device: 'device name', to: 'process name' };

/** The keys of `design: { name, ... }` beside its options. */
const DESIGN_KEYS = new Set(['name']);

const EXAMPLE = `name: reset races a fault
machine: { arch: x86_64, thp: always }
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
design: upstream
setup:                                   # runs once, in order, before the threads
  - open:  { device: gpu0, as: dev }     # \`as\` names the handle an operation creates
  - mmap:  { fd: dev, region: 0, length: 16K, as: m }
threads:                                 # run concurrently; the explorer interleaves them
  vmm:
    - load:  { map: m, offset: 0x1000 }  # outcome ok, sigbus, sigsegv or an errno
  admin:
    - reset: { fd: dev, expect: ok }     # any other outcome is an EXPECT violation
check: { strategy: dpor, invariants: all }
expect: { violations: [] }               # no invariant may be violated
`;

/** The example at the top of the reference (a test loads it). */
export const REFERENCE_EXAMPLE = EXAMPLE;

/** docs/scenarios.md. Throws when a key of the schema has no description here, or one is stale. */
export function scenarioReference(): string {
  const schema = scenarioJsonSchema() as JsonSchema;
  const used = new Set<string>();
  const doc = (path: string): FieldDoc => {
    const d = FIELDS[path];
    if (!d) throw new Error(`scenario reference: no description of \`${path}\` in src/scenario/reference.ts`);
    used.add(path);
    return d;
  };
  const out: string[] = [];
  const p = (...lines: string[]) => out.push(...lines);

  p(
    '<!-- Generated by scripts/gen-scenario-docs.mjs from src/scenario/schema.ts, ops.ts and',
    '     reference.ts: edit those and regenerate; a test fails when this file is stale. -->',
    '',
    '# Scenarios — reference',
    '',
    'A scenario is a YAML file: a machine, devices, a design, an optional sequential `setup`, and',
    'concurrent `threads`, each a list of operations. `vdm check FILE` explores every interleaving of',
    'the threads that matters and judges the result against `expect` ([cli.md](cli.md)). Editors can',
    'complete and check scenario files with the JSON Schema in',
    '[`schema/scenario.schema.json`](../schema/scenario.schema.json) (also printed by `vdm schema`).',
    '',
    '```yaml',
    EXAMPLE.trimEnd(),
    '```',
    '',
    'A scenario file is plain YAML 1.2: no tags (`!!js/function`, `!foo`), no merge keys (`<<`), keys',
    'that are names, at most 1 MiB, and a bounded number of alias expansions, so that loading a file',
    'can neither run code nor exhaust memory. Unknown keys are errors. Every error names the file, line,',
    'column and field, with the nearest valid spelling when the input looks like a misspelling of one:',
    '',
    '```text',
    'reset.yaml:12:7: threads.vmm[1].mmapp: unknown operation `mmapp` — did you mean `mmap`?',
    '```',
    '',
    '## Sizes',
    '',
    'Sizes, offsets and addresses are a number of bytes (`65536`), hex (`0x3800000000`), or a whole',
    `number with a binary unit: \`4K\`, \`2M\`, \`1G\`, \`1T\` (either case; \`1.5M\` is refused). The`,
    `spelling: \`${SIZE_PATTERN}\`, below 2^53.`,
    '',
    '## Top-level keys',
    '',
  );
  p(...fieldTable(schema, '', doc));

  // Nested mappings, each with its table.
  const props = schema.properties ?? {};
  p('', '### machine', '');
  p(...fieldTable(objectOf(props.machine), 'machine', doc));
  p('', '### devices', '', 'Each device:', '');
  const device = objectOf(props.devices?.items);
  p(...fieldTable(device, 'devices', doc));
  p('', 'Each BAR (`bars`):', '');
  p(...fieldTable(objectOf(device.properties?.bars?.items), 'devices.bars', doc));

  p(
    '',
    '### Drivers',
    '',
    '`driver` names the vfio-pci driver bound to a device ([vfio-pci.md](vfio-pci.md#variant-drivers)).',
    '`vfio-pci` (the default) is vfio-pci core alone. `nvgrace-gpu` is the variant driver of NVIDIA',
    'Grace Hopper and Blackwell GPUs (`drivers/vfio/pci/nvgrace-gpu/main.c`, as of v6.19 with',
    '`a23b10608d42`): their memory is coherent with the CPU and is no PCI BAR, so the driver shows it as',
    'emulated 64-bit BARs with its own mmap, fault, huge fault, read and write, and polls the memory’s',
    'readiness after every reset. Its `bars`:',
    '',
    '| `index` | what it is | `size`, `phys` |',
    '|---|---|---|',
    '| `0` | the GPU’s registers, a real BAR (vfio-pci core maps it); the driver polls its readiness registers at `+0x1498` and `+0x200BC` | a BAR: a power of two of at least 256K, naturally aligned |',
    '| `4` | usemem, the cacheable device memory (required) | the memory’s length in whole pages and its page-aligned address; the reported BAR size is the length rounded up to a power of two |',
    '| `2` | resmem, the uncached carve-out of Grace Hopper (left out: Blackwell, no carve-out) | as `4` |',
    '',
    '`1`, `3` and `5` are the upper halves of those 64-bit BARs and cannot be given; the memory has',
    'no struct pages. `pread`/`pwrite` of a memory region past its length and inside the reported BAR',
    'size read `0xFF` bytes and drop writes; `mmap` stops at the length (`EINVAL` past it). The driver is',
    'modelled on `upstream`, `v6.19`, `dmabuf-backed` and `shared-base`: a file with another design is',
    'refused, and run on one anyway (`--design`, `vdm compare`) the device does not probe (`open` is',
    '`ENODEV`).',
    '',
    '```yaml',
    'devices:',
    '  - name: gh0',
    '    driver: nvgrace-gpu',
    '    bars:',
    '      - { index: 0, size: 16M, phys: 0x3000000000 }     # registers',
    '      - { index: 4, size: 12K, phys: 0x400000000000 }   # usemem: 12K of memory, a 16K BAR',
    '      - { index: 2, size: 4K, phys: 0x400000003000 }    # resmem, right after it',
    '```',
  );

  p('', '### Designs', '');
  p(
    '`design` is a design name, or a mapping with `name` and any of the options below, which replace',
    'that design’s own values ([designs.md](designs.md) tells what each design and option models).',
    '',
    '| design | what it models |',
    '|---|---|',
  );
  for (const n of DESIGN_NAMES) p(`| \`${n}\` | ${cell(DESIGNS[n].summary)} |`);
  const designObject = objectOf(props.design?.anyOf?.find((s) => s.type === 'object'));
  const optionNames = Object.keys(designObject.properties ?? {}).filter((k) => !DESIGN_KEYS.has(k));
  if (optionNames.join() !== Object.keys(OPTION_VALUES).join()) {
    throw new Error('scenario reference: the schema’s design options differ from OPTION_VALUES');
  }
  p('', '| option | values | `upstream` |', '|---|---|---|');
  for (const k of optionNames) {
    const values = (OPTION_VALUES as Record<string, readonly unknown[]>)[k]!;
    const up = (DESIGNS.upstream.options as unknown as Record<string, unknown>)[k];
    p(`| \`${k}\` | ${values.map((v) => `\`${String(v)}\``).join(', ')} | \`${String(up)}\` |`);
  }

  p('', '### check', '', 'Command-line options (`--strategy`, `--seed`, …) override these.', '');
  p(...fieldTable(objectOf(props.check), 'check', doc));
  p('', `Invariant ids: ${INVARIANT_IDS.map((id) => `[\`${id}\`](invariants/${id}.md)`).join(', ')}.`);

  p('', '### expect', '');
  p(...fieldTable(objectOf(props.expect), 'expect', doc));
  p(
    '',
    '`vdm check` passes (exit 0) when:',
    '',
    '- every id listed in `violations` is found;',
    '- with `violations: []` (or no `expect` at all), nothing is found: no invariant is violated and the',
    '  explorer finds no deadlock, lock-order problem, error or failed operation `expect`;',
    '- with `exactly: true`, nothing but the listed ids is found. Without it, a list of ids means',
    '  *at least* these: other ids may be found too.',
    '',
    `Ids: the invariants above and the explorer’s own ${EXPLORER_IDS.map((id) => `\`${id}\``).join(', ')}.`,
    `\`EXPECT\` is an operation whose outcome differed from its \`expect:\` ([Outcomes](#outcomes)).`,
  );
  if (ALL_IDS.length !== INVARIANT_IDS.length + EXPLORER_IDS.length) throw new Error('ids');

  p(
    '',
    '## Setup',
    '',
    '`setup` runs once before the threads start, in order and atomically (it is not explored). Each',
    'operation runs in the first process of `processes` (`main` when `processes` is left out) unless',
    'it says `process:` beside its name — the key sits next to the operation, not among its',
    'arguments, and is for setup only (a thread runs in its own process):',
    '',
    '```yaml',
    'setup:',
    '  - fork: { as: guest }',
    '  - open: { device: gpu0, as: dev }',
    '    process: guest',
    '```',
    '',
    'Setup runs in order, so a handle it uses must be created earlier in setup. An operation of setup',
    'may carry `expect:` like any other; a failed one is reported at the first check of every execution.',
    '',
    '## Processes and fork',
    '',
    '`processes` maps each process to the threads that run in it; threads listed nowhere run in the',
    'first process. A process named in `processes` that is also created by a `fork` is that fork’s',
    'child: created in setup it exists before the threads start; created by a thread, its threads',
    'start only once the `fork` has run. A forked child inherits the parent’s fds and mappings (the',
    'handles the parent holds at that point, under the same names). `send` passes an fd to another',
    'process under a new name (SCM_RIGHTS).',
    '',
    '## Handles and waiting',
    '',
    'An operation with `as:` creates a handle: a name, in its process, for what it made (an fd, a',
    'mapping, an iommufd, an IOAS, a container, an importer). Other operations name handles in their',
    'arguments, and the loader checks that each exists in that process and is of the right kind.',
    '',
    '- A handle created in setup, inherited by a forked child, or created earlier in the same thread is',
    '  simply there.',
    '- A handle created by **another thread** is waited for: the using operation blocks on a completion',
    '  that the creating operation completes, so the explorer never runs the use before the creation.',
    '  Waits that no schedule can satisfy are load errors: a thread using a handle only it makes later,',
    '  or threads each waiting for what the other makes after its own wait (the scenario would stop in',
    '  its own waits before the kernel runs). Setup runs before every thread, so a setup operation',
    '  cannot name a process that a thread\u2019s `fork` makes.',
    '- Several threads of one process share its fd table (as CLONE_FILES threads do). When one of them',
    '  closes fds, every syscall of the process takes a reference on the file it looks up and drops it',
    '  as it returns (`fdget()` on a shared table), so another thread\u2019s `close` never frees a file',
    '  under a syscall; otherwise the lookup borrows the file (the reference could change no outcome).',
    '- An operation that fails creates no handle: its handle is then *failed*, and a later use behaves',
    '  like passing what the failed call returned — `-1` as an fd (`EBADF`), `MAP_FAILED` as an address',
    '  (the access gets `sigsegv`) — so the error path runs as in the kernel rather than as a load error.',
    '- Values are checked at run time as the kernel checks them: a `revoke` given a device fd returns',
    '  the kernel’s errno; only names that nothing creates, or of the wrong kind, are load errors.',
    '- **Every kind of fd is an fd.** A device fd, a dma-buf fd, an iommufd and a container are all',
    '  file descriptors in the process’s table: where an operation expects one kind, any other kind',
    '  loads, and the operation returns what the kernel returns for that file — `ENOTTY` for a device',
    '  ioctl (`reset`, `hot_reset`, `pm_entry`, `pm_exit`, `export`, `revoke`, `memattr`, `attach`,',
    '  `container`) or an iommufd ioctl (`ioas`) on another kind of file; `EINVAL` for a config-space',
    '  write or a read/write (`command`, `power`, `flr`, `pread`, `pwrite`) on a file with no such',
    '  method, and for `import` or `map_file` of a file that is not a dma-buf (`dma_buf_get()`);',
    '  `ENXIO` for `mmap` of an iommufd (no vIOMMU region) and `ENODEV` for `mmap` of a container;',
    '  `map_dma` into a device or dma-buf fd is `ENOTTY`, into an iommufd `ENODEV` (no compat IOAS).',
    '  `close`, `dup` and `send` work on every kind. A mapping, an IOAS or an importer is not an fd:',
    '  using one where an fd is expected (or an fd where one of them is) is still a load error.',
    '- **O_PATH fds.** An fd made by `open_path` is an fd of any kind, but only `close`, `dup`, `send`',
    '  and `open_path` can use it: every other operation given it returns `EBADF`, as `fdget()` does',
    '  not find an O_PATH file. It holds the original file’s dentry, not the file: an O_PATH fd on a',
    '  dma-buf keeps the buffer (and VFIO’s state for it) alive after its last dma-buf fd is closed.',
    '- **Importers.** `import` makes a generic importer that behaves like the kernel’s revocable',
    '  importers (iommufd’s `iopt_revoke_notify()`, RDMA’s invalidation): told to move or revoke, it',
    '  unmaps from its `invalidate_mappings` callback, so a revoke that waits for importers (v7.1)',
    '  completes without any `importer_unmap`. `ignoresMove: true` makes a misbehaving (or',
    '  deferring) importer instead: its callback only marks the mapping invalid, and only an explicit',
    '  `importer_unmap` unmaps it — a v7.1 revoke then waits for that operation, or for ever',
    '  (`DEADLOCK`) if none comes; on v6.19, whose revoke only notifies, it keeps its mapping after the',
    '  revoke returned (`MAPPING_AFTER_REVOKE`).',
    '',
    '## Outcomes',
    '',
    'An operation’s outcome is `ok`, an errno name, `sigbus` or `sigsegv` (for accesses); the thread',
    'goes on after any of them. Every operation may carry `expect:`, one of',
    `${OUTCOMES.map((o) => `\`${o}\``).join(', ')};`,
    '`any` (the default) accepts every outcome. An outcome other than the expected one is a violation',
    'with the id `EXPECT`.',
    '',
    '## Operations',
    '',
    '| operation | creates | kernel entry |',
    '|---|---|---|',
  );
  const opSchemas = schema.properties?.threads?.additionalProperties as JsonSchema;
  const variants = opSchemas.items?.anyOf ?? [];
  for (const name of OP_NAMES) {
    const spec = OPS[name];
    const creates = spec.creates ? HANDLE_NAMES[spec.creates] : '';
    p(`| [\`${name}\`](#${name}) | ${creates} | ${cell(spec.kernel)} |`);
  }
  for (const name of OP_NAMES) {
    const spec = OPS[name];
    const variant = variants.find((v) => v.properties?.[name]);
    if (!variant) throw new Error(`scenario reference: operation ${name} is not in the schema`);
    const args = objectOf(variant.properties![name]);
    p('', `### ${name}`, '', spec.doc, '', `Kernel: \`${spec.kernel}\`.`, '');
    const argNames = Object.keys(args.properties ?? {}).filter((k) => k !== 'expect');
    if (argNames.length > 0) {
      p('| argument | type | required | default |', '|---|---|---|---|');
      for (const k of argNames) {
        const s = args.properties![k]!;
        const uses = (spec.uses as Record<string, HandleKind>)[k];
        let type = ARG_TYPES[k] ?? typeText(s);
        if (uses)
          type =
            s.type === 'array'
              ? `list of handles (${HANDLE_NAMES[uses]} each)`
              : `handle (${HANDLE_NAMES[uses]})`;
        if (k === 'as' && spec.creates) {
          type = spec.creates === 'process' ? 'new process name' : 'new handle name';
        }
        const required = args.required?.includes(k) ? 'yes' : '';
        const def = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : '';
        p(`| \`${k}\` | ${cell(type)} | ${required} | ${def} |`);
      }
      p('');
    }
    const facts: string[] = [];
    if (spec.creates === 'process') {
      facts.push(
        'Creates: the process named by `as`; the threads listed for it in `processes` start once it exists.',
      );
    } else if (spec.creates) {
      facts.push(
        `Creates: ${HANDLE_NAMES[spec.creates]}, named by \`as\` ${name === 'send' ? 'in the process `to`' : 'in its process'}.`,
      );
    }
    const named = Object.entries(spec.uses as Record<string, HandleKind>);
    const many = named.length > 1 || named.some(([k]) => args.properties?.[k]?.type === 'array');
    const handles = named.map(
      ([k, kind]) =>
        `\`${k}\` (${HANDLE_NAMES[kind]}${args.properties?.[k]?.type === 'array' ? ' each' : ''})`,
    );
    const waits: string[] = [];
    if (handles.length > 0)
      waits.push(`${list(handles)}, when another thread creates ${many ? 'them' : 'it'}`);
    if (name === 'send') waits.push('the process `to`, when a thread forks it');
    facts.push(`Waits for: ${waits.length === 0 ? 'nothing' : waits.join('; ')}.`);
    if (OP_NOTES[name]) facts.push(OP_NOTES[name]);
    facts.push('Also takes `expect` ([Outcomes](#outcomes)).');
    p(...facts.map((f) => `- ${f}`));
  }

  for (const k of Object.keys(FIELDS)) {
    if (!used.has(k)) throw new Error(`scenario reference: \`${k}\` is described but not in the schema`);
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

/** The table of a mapping's keys: type, required, default, meaning. */
function fieldTable(s: JsonSchema, base: string, doc: (path: string) => FieldDoc): string[] {
  const rows = ['| key | type | required | default | meaning |', '|---|---|---|---|---|'];
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const path = base ? `${base}.${k}` : k;
    const d = doc(path);
    const type = d.type ?? typeText(v);
    const required = s.required?.includes(k) ? 'yes' : '';
    const def = d.default ?? (v.default !== undefined ? `\`${JSON.stringify(v.default)}\`` : '');
    rows.push(`| \`${k}\` | ${cell(type)} | ${required} | ${cell(def)} | ${cell(d.doc)} |`);
  }
  return rows;
}

function objectOf(s: JsonSchema | undefined): JsonSchema {
  if (s?.type !== 'object') throw new Error('scenario reference: expected an object schema');
  return s;
}

/** A JSON Schema type as a reader wants it. */
function typeText(s: JsonSchema): string {
  if (s.anyOf) {
    const isSize = s.anyOf.some((a) => a.pattern === SIZE_PATTERN);
    return isSize ? 'size' : s.anyOf.map(typeText).join(' or ');
  }
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  switch (s.type) {
    case 'string':
      return s.minLength ? 'name' : 'text';
    case 'integer': {
      const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
      const min = s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER ? s.minimum : undefined;
      if (min !== undefined && max !== undefined) return `integer ${min}–${max}`;
      if (min !== undefined) return `integer ≥ ${min}`;
      return 'integer';
    }
    case 'boolean':
      return 'boolean';
    case 'array':
      return `list of ${s.items ? typeText(s.items) : 'values'}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
    case 'object':
      if (s.properties) return 'mapping';
      if (typeof s.additionalProperties === 'object')
        return `mapping: name → ${typeText(s.additionalProperties)}`;
      return 'mapping';
    default:
      return s.type ?? 'value';
  }
}

/** Text safe inside a Markdown table cell. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const list = (xs: string[]): string =>
  xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
