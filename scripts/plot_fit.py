"""Learning curves of ``python -m training.imitation.bc fit`` runs from their TensorBoard logs (``<out>_tb/``):
held-out NLL and the agreement with the teacher per component against gradient steps.

    python scripts/plot_fit.py runs/clone/sticky_cone_tb [more_tb ...] --out notes/img/clone_fit.png

Bad input (a folder without bc/ scalars) is one line and exit 2.
"""

import argparse
import sys

COMPONENTS = ("robot_type", "keep", "non_keep", "move_dir", "factory", "factory_acting", "dig")  # dig: absent before 2026-12-08


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="TensorBoard folders written by training.imitation.bc fit (<out>_tb)")
    ap.add_argument("--out", required=True, help="image file (.png)")
    args = ap.parse_args(argv)

    from matplotlib.figure import Figure

    from training.tblog import read_scalars

    fig = Figure(figsize=(10, 4))
    ax_nll, ax_acc = fig.subplots(1, 2)
    for run in args.runs:
        steps, nll = read_scalars(run, "bc/val_nll")
        if not len(steps):
            print(f"plot_fit.py: {run} has no bc/val_nll scalars (a training.imitation.bc fit TensorBoard folder?)",
                  file=sys.stderr)
            return 2
        name = run.rstrip("/").split("/")[-1]
        ax_nll.plot(steps, nll, marker="o", label=name)
        for comp in COMPONENTS:
            s, v = read_scalars(run, f"bc/agreement_{comp}")
            ax_acc.plot(s, v, marker="o", label=f"{comp}" if len(args.runs) == 1 else f"{name} {comp}")
    ax_nll.set(title="held-out NLL (per sample, summed over cells)", xlabel="gradient steps")
    ax_acc.set(title="agreement with the teacher (held-out)", xlabel="gradient steps", ylim=(0, 1))
    ax_nll.legend(fontsize=7)
    ax_acc.legend(fontsize=7)
    for ax in (ax_nll, ax_acc):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
