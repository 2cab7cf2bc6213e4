"""``spm mapping init``: write the mapping a preset infers from an export, for review and reuse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spmlib.cli.common import app, choices, console, err_console, fail
from spmlib.exceptions import SpmError
from spmlib.io.infer import INFERENCES

mapping_app = typer.Typer(
    help="CRM mappings: write the one a preset infers from an export.", no_args_is_help=True
)
app.add_typer(mapping_app, name="mapping")

#: ``--from``: the presets that infer the stages from the export.
Preset = choices("Preset", INFERENCES)


@mapping_app.command("init")
def init_command(
    path: Annotated[
        str, typer.Argument(help="The export folder (CSV files as the CRM wrote them).")
    ],
    preset: Annotated[Preset, typer.Option("--from", help="The CRM the export comes from.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the mapping to this YAML file (default: print it)."),
    ] = None,
    dataset_yml: Annotated[
        bool,
        typer.Option(
            "--dataset-yml",
            help="Write the dataset settings to PATH/dataset.yml instead of the mapping's "
            "`dataset:` section.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files that already exist.")
    ] = False,
) -> None:
    """Write the mapping and dataset settings the preset infers from this export: stages in
    order, won and lost stages (several allowed), pipelines, stage probabilities, currency and
    fiscal year, each inference in a comment with its evidence. Review it, save it, and load
    with `--mapping FILE`. Exit code 1 when the export has errors (the file is still written,
    with the errors listed at its top).
    """
    from spmlib.io.files import atomic_write_text
    from spmlib.io.mapping_init import draft_mapping

    targets = [t for t in (out, Path(path) / "dataset.yml" if dataset_yml else None) if t]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        fail(f"{', '.join(existing)} already exists; choose another --out or add --force")
    name = out.stem if out is not None else None
    try:
        draft = draft_mapping(path, preset.value, name=name, separate_dataset=dataset_yml)
    except (SpmError, FileNotFoundError) as exc:
        fail(str(exc))
    if dataset_yml:
        atomic_write_text(Path(path) / "dataset.yml", draft.dataset)
        err_console.print(f"wrote {Path(path) / 'dataset.yml'}", highlight=False, markup=False)
    if out is None:
        console.print(draft.mapping, highlight=False, markup=False, soft_wrap=True, end="")
    else:
        atomic_write_text(out, draft.mapping)
        err_console.print(
            f"wrote {out}: check it, then `spm validate {path} --mapping {out}`",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if draft.errors:
        err_console.print(
            f"{len(draft.errors)} error(s) in the export; they are listed at the top of the "
            "mapping. Fix them (or the settings) before using it.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
