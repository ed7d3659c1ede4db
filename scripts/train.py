"""Train gifqa: a thin entry point; the loop is gifqa.training.loop.train.

One process (CPU or one GPU):
    python scripts/train.py --config scripts/configs/tiny.yaml --output_dir runs/tiny

Several GPUs on one machine (DDP):
    accelerate launch --num_processes 4 scripts/train.py --config scripts/configs/shapes.yaml --output_dir runs/a
    accelerate launch --config_file scripts/accelerate/multi_gpu_bf16.yaml scripts/train.py --config ... --output_dir ...

Two processes on a machine without CUDA (what the tests run; gloo).  `--cpu` would pick
accelerate's single-process launcher; the torchrun launcher starts CPU processes:
    accelerate launch --multi_gpu --num_processes 2 scripts/train.py --config scripts/configs/tiny.yaml --output_dir runs/cpu2

Several machines: the same command on each machine with Accelerate's machine settings, e.g.
    accelerate launch --num_machines 2 --machine_rank 0 --main_process_ip 10.0.0.1 --main_process_port 29500 \\
        --num_processes 16 scripts/train.py --config ... --output_dir ...      (machine_rank 1 on the other)

7B LLMs: --config_file scripts/accelerate/fsdp.yaml (FSDP, full shard).

Any recipe key can be overridden: --optim.max_steps 200 --optim.lr.qformer 1e-4 --data.frames 8;
--resume true continues the run in --output_dir from its last saved state.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def main(argv=None) -> int:
    from gifqa.cli.main import recipe_script
    from gifqa.training import load_recipe, train

    def body(config, overrides) -> None:
        run_dir = train(load_recipe(config, overrides))
        print(f"run: {run_dir}", file=sys.stderr)

    return recipe_script(__doc__, argv, body, "YAML recipe (scripts/configs/*.yaml)")

if __name__ == "__main__":
    sys.exit(main())
