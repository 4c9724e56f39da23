// vfio-dmabuf-model: the public API.

export * from './sched/index.js';
