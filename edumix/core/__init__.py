"""The ground every other layer stands on: the document record and Arrow schema, the typed
run config, the run-directory contract, the digests, the stage order and progress bars.
Nothing here imports another edumix package."""
