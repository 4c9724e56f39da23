// Call sites for people's replays and reports (src/sched/site.ts): what a frame's text says, and that a call
// chain read once is read the same from then on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CallSite, captureCall } from '../../src/sched/site.js';

function take(): CallSite {
  const c: CallSite = { site: undefined, stack: undefined };
  captureCall(c);
  return c;
}

function outerModelFunction(): CallSite {
  return innerModelFunction();
}
function innerModelFunction(): CallSite {
  return take();
}

class Base {
  issueOp(): CallSite {
    const c: CallSite = { site: undefined, stack: undefined };
    captureCall(c);
    return c;
  }
}
class FirstKind extends Base {}
class SecondKind extends Base {}

test('the same call chain gives the same site and stack every time, each call its own stack array', () => {
  const a = outerModelFunction();
  const b = outerModelFunction();
  assert.match(a.site!, /^take \(test[/\\]report[/\\]call-sites\.test\.[jt]s:\d+:\d+\)$/);
  assert.deepEqual(b, a);
  const stack = a.stack!;
  assert.ok(stack.indexOf('outer_model_function') >= 0);
  assert.ok(stack.indexOf('outer_model_function') < stack.indexOf('inner_model_function'), 'outermost first');
  assert.equal(stack.at(-1), 'take');
  b.stack!.push('changed');
  assert.deepEqual(outerModelFunction().stack, stack, 'a caller changing its array changes nothing later');
});

test('one position reached from two callers: each keeps its own chain', () => {
  const viaOuter = outerModelFunction();
  const direct = innerModelFunction();
  assert.equal(direct.site, viaOuter.site);
  assert.ok(!direct.stack!.includes('outer_model_function'));
  assert.ok(viaOuter.stack!.includes('outer_model_function'));
});

test("an inherited method names the receiver's type at the site, for each receiver", () => {
  // All from one position, so only the receiver tells the calls apart.
  const [first, second, again] = [new FirstKind(), new SecondKind(), new FirstKind()].map((o) => o.issueOp());
  assert.deepEqual(again, first);
  assert.match(first.site!, /^FirstKind\.issueOp \(/);
  assert.match(second.site!, /^SecondKind\.issueOp \(/);
  assert.equal(first.stack!.at(-1), 'issue_op');
  assert.equal(second.stack!.at(-1), 'issue_op');
});
