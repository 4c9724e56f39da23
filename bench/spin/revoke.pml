/*
 * The scenario of bench/spin.ts in Promela, for `npm run bench` to run side by side with vdm:
 * N threads each fault one page of a BAR mapping — under memory_lock held for read, install the
 * PTE only if the device is not revoked — while one thread revokes: memory_lock for write, set
 * revoked, zap every PTE, release. Safety: once the revoke has returned, no PTE is present.
 * memory_lock is the kernel's rw_semaphore as vdm models it: a writer that finds it held queues,
 * and a queued writer blocks new readers. Compile with -DN=<threads>.
 */
#ifndef N
#define N 2
#endif

byte readers = 0;   /* memory_lock: active readers */
bit writer = 0;     /* memory_lock: held for write */
bit queued = 0;     /* memory_lock: a writer waits */
bit revoked = 0;
bit done = 0;       /* the revoke has returned */
bit pte[N];
byte npte = 0;      /* PTEs present (kept with pte[] in the same step) */

ltl safe { [] (done -> (npte == 0)) }

active [N] proctype fault() {
  byte me = _pid;
  /* down_read: blocked while a writer holds or waits */
  atomic { writer == 0 && queued == 0 -> readers++ }
  if
  :: revoked == 0 -> d_step { pte[me] = 1; npte++ }
  :: else -> skip
  fi;
  /* up_read */
  readers--
}

active proctype revoke() {
  byte i = 0;
  /* down_write: take it if free, else queue and take it when the readers are gone */
  if
  :: atomic { readers == 0 && writer == 0 -> writer = 1 }
  :: atomic { !(readers == 0 && writer == 0) -> queued = 1 };
     atomic { readers == 0 && writer == 0 -> writer = 1; queued = 0 }
  fi;
  revoked = 1;
  do
  :: i < N -> d_step { if :: pte[i] -> pte[i] = 0; npte-- :: else -> skip fi }; i++
  :: else -> break
  od;
  /* up_write */
  writer = 0;
  done = 1
}
