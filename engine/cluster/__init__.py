"""The engine on a Ray cluster: the same runners, on actors anywhere on the user's network.

Installed with `pip install .[cluster]`. This package is the only one that imports ray
(an import-linter contract holds it to that), and only inside functions, so the app
without Ray never meets it:

- connect: the address (`--cluster`, LATENTSTUDIO_CLUSTER, Settings → Engine) and the
  refusal of a cluster without authentication off loopback; local_node: a `local`
  cluster started on a thread that lasts (Ray ties its processes to that thread);
- worker_actor: one actor per GPU (or CPU worker) running the local runtime, streaming
  the engine's events in engine.api.wire's form;
- request_files: every file a request names (models, LoRAs, VAE, embeddings, tiny VAE,
  control models, input pictures), and the request with the worker's paths;
- data_files: a training's folder of images, listed here as its loader lists it, each
  image sent as a file, laid out again in the run's scratch folder on the worker;
- model_shipping: those files named by sha256, found on the worker or sent once per node;
- model_store, cache_limit: a worker's cache folder, kept under a size limit (LRU out
  first, never a file in use);
- pool: the actors started, and Ray's errors made one (WorkerLost);
- scheduler: a batch fanned out over the workers, two jobs in flight each, model
  affinity, jobs of a dead worker run again elsewhere, each ending delivered once;
- landing: a remote job's pictures saved in the local gallery, recipes naming the worker;
- session: all of that for one driver, without Qt (and workers started again when
  every one is lost);
- ray_engine: RayEngine, the Engine protocol over a session; cli: `generate --cluster`;
  batch: `batch FILE --cluster`;
- sweep: `train --sweep --cluster`, a Lab sweep's runs on the workers; scratch_runs: a
  training in a worker's scratch folder, its files sent back as bytes; run_files:
  those files landed in the user's run folder, their names checked.
"""
