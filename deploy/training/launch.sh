#!/usr/bin/env bash
# Pretrain one phase on every GPU of one or more nodes: torchrun starts NPROC processes per
# node, each running `edumix pretrain` (python -m edumix.trainer.cli pretrain, the same command),
# which joins the process group torchrun describes (trainer/distributed.py: nccl on CUDA,
# gloo on CPU). Arguments are passed to `edumix pretrain` unchanged.
#
# Single node, all GPUs:
#   deploy/training/launch.sh --phase 1 --data RUN_DIR --tokenizer TOK.json --config trainer/configs/125m.yaml --out CKPT
# Single node, CPU, 2 processes (gloo):
#   NPROC=2 deploy/training/launch.sh --phase 1 --data RUN_DIR --tokenizer TOK.json --config trainer/configs/tiny.yaml --out CKPT --device cpu
# Multi-node: run on every node with the same MASTER_ADDR/MASTER_PORT and its own NODE_RANK:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=node0.example MASTER_PORT=29500 deploy/training/launch.sh ...
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=node0.example MASTER_PORT=29500 deploy/training/launch.sh ...
#
# Environment:
#   NPROC        processes per node (default: the GPUs nvidia-smi lists, else 1)
#   NNODES       nodes in the job (default 1)
#   NODE_RANK    this node's rank, 0..NNODES-1 (default 0; k8s: the Job completion index)
#   MASTER_ADDR  host of node 0 (default 127.0.0.1)      MASTER_PORT  its port (default 29500)
#   PYTHON       interpreter when torchrun is not on PATH (default python)
#   DRY_RUN=1    print the command instead of running it
set -euo pipefail

gpus() {
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true
  else
    echo 0
  fi
}

if [[ $# -eq 0 ]]; then
  sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

detected=$(gpus)
NPROC=${NPROC:-$(( detected > 0 ? detected : 1 ))}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}
PYTHON=${PYTHON:-python}
if command -v torchrun >/dev/null 2>&1 && [[ -z "${USE_PYTHON_M:-}" ]]; then
  torchrun=(torchrun)
else
  torchrun=("$PYTHON" -m torch.distributed.run)  # the same launcher torchrun wraps
fi

cmd=(
  "${torchrun[@]}"
  --nproc_per_node="$NPROC"
  --nnodes="$NNODES"
  --node_rank="$NODE_RANK"
  --master_addr="$MASTER_ADDR"
  --master_port="$MASTER_PORT"
  -m edumix.trainer.cli pretrain "$@"
)

if [[ -n "${DRY_RUN:-}" ]]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
# OMP threads per process: torchrun would otherwise set 1 and warn; share the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / NPROC > 0 ? $(nproc) / NPROC : 1 ))}
exec "${cmd[@]}"
