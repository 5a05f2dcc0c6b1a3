"""`cellc compile SCRIPT[:ENTRY] --input SPEC...`: a model script to an artifact, unedited.

The script is loaded as a module (the compat aliases installed, `__name__` not "__main__"; what
it prints while loading is dropped unless -v), ENTRY is resolved in its namespace, the inputs'
example values are built from their specs, and the compiler's pipeline runs:

    trace -> ms -> grad -> linalg -> llvm (cpu) | gpu -> nvvm -> ptx (cuda) -> artifact

`--emit STAGE` stops after STAGE and prints its IR; otherwise the artifact is written to -o.

ENTRY is a Cell class name (instantiated with no arguments), the name of a Cell instance in the
module, or a factory expression evaluated in the module's namespace (`GradNetWrtX(Net())`).
Without ENTRY, the one Cell subclass the file defines; several are an error that lists them.
"""

from __future__ import annotations

import inspect as pyinspect
import os
import shlex
import time
import traceback
from pathlib import Path

import click

from cellc.compiler.pipeline import Stage

from . import specs
from .errors import UserError, debugging, invocation
from .script import SCRIPT_MODULE, exited, failure, load_script, script_environment

EPILOG = """\b
Examples:
  cellc compile examples/autograd_mindspore.py:'GradNetWrtX(Net())' \\
      --input f32[2,3] --input f32[3,3] -o grad.cellc
  cellc compile model.py:Net --input x.npy --input y.npy -o net.cellc
  cellc compile model.py:Net --input f32[2,3] --input f32[3,3] --emit linalg
  cellc compile model.py:Net --input f32[2,3] --input f32[3,3] \\
      --target cuda --chip sm_80 --emit ptx -o net.ptx
  cellc compile model.py:Net --input f32[2,3] --input f32[3,3] -v --keep-intermediates ir/

\b
ENTRY: a Cell class (built with no arguments), a Cell instance in the script, or a factory
expression such as 'GradNetWrtX(Net())'; quote it for the shell. Without ENTRY, the one Cell
subclass the script defines.
INPUT: DTYPE[DIMS] (f16 f32 f64 i32 i64 bool; f32[2,3], f64[3], i32[4], f32[] for a scalar),
zeros of that type, or a .npy file whose values are used; one --input per argument of the
entry's construct, in order.
"""

# A compile that takes longer than this shows its stages on stderr as they complete.
PROGRESS_AFTER_S = 1.0

STAGES = tuple(stage.value for stage in Stage)


class Progress:
    """`CompileOptions.progress`: once PROGRESS_AFTER_S has passed since the start, prints
    `[cellc] STAGE done (S s)` for every stage completed so far and then each one as it ends."""

    def __init__(self, after: float | None = None):
        self.after = PROGRESS_AFTER_S if after is None else after
        self.started = time.perf_counter()
        self.pending: list[tuple[str, float]] = []
        self.timings: dict[str, float] = {}

    def __call__(self, stage: str, seconds: float) -> None:
        self.timings[stage] = seconds
        self.pending.append((stage, seconds))
        if time.perf_counter() - self.started >= self.after:
            for name, spent in self.pending:
                click.echo(f"[cellc] {name} done ({spent:.1f} s)", err=True)
            self.pending.clear()


@click.command("compile", epilog=EPILOG)
@click.argument("script_entry", metavar="SCRIPT[:ENTRY]")
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="SPEC",
    help="An example input: DTYPE[DIMS] (f32[2,3]) or a .npy file. Repeat, one per argument.",
)
@click.option(
    "--target",
    type=click.Choice(["cpu", "cuda"], case_sensitive=False),
    default="cpu",
    show_default=True,
    help="cpu: LLVM, a shared library; cuda: NVVM -> PTX.",
)
@click.option("--chip", metavar="SM", help="The CUDA architecture (--target cuda); default sm_80.")
@click.option(
    "--allow-tf32",
    is_flag=True,
    help="--target cuda, sm_80 and newer: f32 matmuls on tensor cores in tf32 (inputs rounded "
    "to 10 mantissa bits), as torch.backends.cuda.matmul.allow_tf32.",
)
@click.option(
    "--emit",
    type=click.Choice(STAGES, case_sensitive=False),
    help="Stop after this stage and print its IR (ms, grad, linalg; llvm for cpu; gpu, nvvm, "
    "ptx for cuda).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The artifact (default: SCRIPT's name with .cellc), or the IR file with --emit "
    "(default: stdout).",
)
@click.option(
    "--keep-intermediates",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Save every stage's IR in DIR, with reproducer commands.",
)
@click.option(
    "--ckpt",
    type=click.Path(dir_okay=False, exists=True),
    metavar="FILE.ckpt",
    help="Load trained weights from a MindSpore checkpoint into ENTRY before compiling.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Per-stage timings on stderr; show the script's prints."
)
def compile_command(
    script_entry,
    inputs,
    target,
    chip,
    allow_tf32,
    emit,
    output,
    keep_intermediates,
    ckpt,
    verbose,
) -> None:
    """Compile a model in a MindSpore/LuoJiaNET SCRIPT, without editing it.

    SCRIPT[:ENTRY] names the script and what in it to compile; --input gives each argument's
    type (or a .npy example). Writes an artifact that `cellc exec` and cellc.runtime.load run,
    or, with --emit, the IR of one stage.
    """
    script, entry_text = split_script_entry(script_entry)
    examples = []
    for index, text in enumerate(inputs):
        try:
            examples.append(specs.parse_input(text))
        except specs.SpecError as error:
            raise click.BadParameter(str(error), param_hint=f"'--input' (input {index})") from None
    target = target.lower()
    if chip is not None and target != "cuda":
        raise click.BadParameter("--chip applies to --target cuda", param_hint="'--chip'")
    if chip is not None:
        _check_chip(chip)
    if allow_tf32 and target != "cuda":
        raise click.BadParameter(
            "--allow-tf32 applies to --target cuda", param_hint="'--allow-tf32'"
        )
    emit = emit.lower() if emit else None
    if emit is None:
        _check_artifact_dtypes(examples)
    command = invocation("compile")

    from cellc.compiler.package import code_only, repackage
    from cellc.compiler.pipeline import CompileOptions, atomic_write, compile_program
    from cellc.frontend import disk_cache
    from cellc.frontend.tracing import trace_program

    options = CompileOptions(
        target=target,
        emit=emit,
        keep_intermediates=keep_intermediates,
        chip=chip or "sm_80",
        allow_tf32=allow_tf32,
        progress=Progress(),
    )
    progress = options.progress
    started = time.perf_counter()
    with script_environment(script):
        try:
            phase = "loaded"
            namespace = load_script(script, echo=verbose)
            progress("load", time.perf_counter() - started)
            phase = "traced"
            fn = resolve_entry(namespace, entry_text, script, command)
            if ckpt is not None:
                _load_checkpoint(fn, Path(ckpt), verbose)
            tensors = example_tensors(fn, examples)
            traced = time.perf_counter()
            traced_program = trace_program(fn, *tensors)
            batch_sample = _batch_sample(fn, examples)
            progress("trace", time.perf_counter() - traced)
            pipeline_started = time.perf_counter()
            weights = traced_program.parameter_values()
            cache_key, cached = _cached_artifact(
                traced_program.program, options, weights, batch_sample
            )
            if cached is None:
                result = compile_program(
                    traced_program.program, options, weights, batch_sample=batch_sample
                )
            pipeline = time.perf_counter() - pipeline_started
        except click.ClickException:
            raise
        except SystemExit as error:
            if debugging():
                raise
            raise exited(error, script, phase) from None
        except Exception as error:
            if debugging():
                raise
            raise failure(error, script, command) from error
    if cached is not None:
        progress("cache", pipeline)
    elif result.artifact is not None:  # code generation and packaging: after the last stage
        progress("artifact", max(0.0, pipeline - sum(result.timings.values())))
    total = time.perf_counter() - started

    if emit is not None:
        with click.open_file(output or "-", "w") as stream:
            stream.write(result.stages[emit])
    else:
        path = Path(output or Path(script).with_suffix(".cellc").name)
        if cached is not None:  # the cached code, with this model's weights
            repackage(cached, path, weights)
        else:
            atomic_write(path, result.artifact)
            if cache_key is not None:  # the cache keeps the code, not the weights
                disk_cache.store(cache_key, code_only(path))
    if keep_intermediates is not None:
        _write_command(Path(keep_intermediates), command)
    if verbose:
        for stage, seconds in progress.timings.items():
            click.echo(f"[cellc] {stage:<9} {seconds * 1000:8.1f} ms", err=True)
        click.echo(f"[cellc] {'total':<9} {total * 1000:8.1f} ms", err=True)
        if emit is None:
            hit = f" (from the cache: {cached.path})" if cached is not None else ""
            click.echo(f"[cellc] wrote {path}{hit}", err=True)


def _batch_sample(fn, examples: list[specs.ExampleInput]):
    """With a `?` in some --input: the program traced at the second sample batch size, which
    makes the compile's batch dynamic (compiler/dynamic_batch.py); else None."""
    if not any(example.dynamic for example in examples):
        return None
    from cellc import Tensor
    from cellc.frontend.compiled import second_trace

    tensors = [Tensor(example.value) for example in examples]
    return second_trace(fn, tensors, tuple(example.dynamic for example in examples))


def _cached_artifact(program, options, weights, batch_sample=None):
    """(the disk-cache key of this compile, the cached artifact with `weights`, or None). A
    compile that emits a stage's IR or keeps intermediates runs the pipeline and is not cached
    (key None). The CPU key is the one calling the cell uses, so either finds what the other
    compiled."""
    from cellc.compiler.pipeline import Target
    from cellc.frontend import disk_cache
    from cellc.runtime.artifact import ArtifactError, read_artifact

    if options.emit is not None or options.keep_intermediates is not None:
        return None, None
    target_options = (options.chip, options.ptx_features) if options.target is Target.CUDA else ()
    if options.allow_tf32:  # other numerics, another entry (keys without it are unchanged)
        target_options += ("allow_tf32",)
    if batch_sample is not None:
        target_options += disk_cache.dynamic_batch_options(batch_sample.axes)
    key = disk_cache.program_key(program, options.target, target_options)
    path = disk_cache.lookup(key)
    if path is None:
        return key, None
    try:
        return key, read_artifact(path, weights)
    except ArtifactError:
        path.unlink(missing_ok=True)  # a damaged entry: compile it again
        return key, None


def split_script_entry(text: str) -> tuple[Path, str | None]:
    """`model.py:GradNet(Net())` -> (model.py, 'GradNet(Net())'); the ':' after `.py` (or the
    first one) separates them, unless the whole text is an existing file."""
    if os.path.isfile(text):
        return Path(text), None
    cut = text.find(".py:")
    cut = cut + 3 if cut >= 0 else text.find(":")
    script, entry = (text, None) if cut < 0 else (text[:cut], text[cut + 1 :].strip() or None)
    if not os.path.isfile(script):
        raise click.BadParameter(f"no such file '{script}'", param_hint="'SCRIPT[:ENTRY]'")
    return Path(script), entry


# --- the entry -----------------------------------------------------------------------------


def _load_checkpoint(fn, path: Path, verbose: bool) -> None:
    """Loads a checkpoint into the entry cell (by Parameter name, as MindSpore does); a
    checkpoint that sets none of its Parameters is a mistake, said with both name lists."""
    from cellc.serialization import load_checkpoint, load_param_into_net

    if not hasattr(fn, "parameters_and_names"):
        raise UserError("--ckpt needs ENTRY to be a Cell (its Parameters take the values)")
    values = load_checkpoint(path)
    not_loaded, unused = load_param_into_net(fn, values)
    names = [name for name, _ in fn.parameters_and_names()]
    if names and len(not_loaded) == len(names):
        raise UserError(
            f"--ckpt: '{path}' sets none of the entry's Parameters ({', '.join(names)}); it "
            f"holds {', '.join(values) or 'nothing'}"
        )
    if verbose and (not_loaded or unused):
        click.echo(
            f"[cellc] --ckpt: not in the checkpoint: {', '.join(not_loaded) or '-'}; "
            f"not in the entry: {', '.join(unused) or '-'}",
            err=True,
        )


def resolve_entry(namespace: dict, entry: str | None, script: Path, command: str = "compile ..."):
    """The Cell (or function) to compile: see the module docstring. `command` is what the user
    ran, for the hint about `--debug`."""
    from cellc.nn import Cell

    if entry is None:
        defined = defined_cells(namespace)
        if len(defined) == 1:
            return _instantiate(defined[0], script)
        listing = ", ".join(c.__name__ for c in defined)
        if not defined:
            raise UserError(
                f"{script} defines no Cell subclass; name what to compile as "
                f"SCRIPT:ENTRY (a Cell class, instance or factory expression)"
            )
        raise UserError(
            f"{script} defines several Cells ({listing}); choose one as SCRIPT:ENTRY, e.g. "
            f"'{script}:{defined[-1].__name__}' or a factory such as "
            f"'{script}:{defined[-1].__name__}(...)'"
        )

    if entry.isidentifier():
        if entry not in namespace:
            raise UserError(f"{script} has no '{entry}'; {_candidates(namespace)}")
        value = namespace[entry]
    else:
        try:
            code = compile(entry, "<ENTRY>", "eval")
        except SyntaxError as error:
            raise UserError(
                f"ENTRY '{entry}' is not a name nor a Python expression ({error.msg}); "
                f"{_candidates(namespace)}"
            ) from None
        try:
            value = eval(code, namespace)  # the user's own factory, in the user's module
        except Exception as error:
            if debugging():
                raise
            raise _entry_failed(error, entry, script, namespace, command) from error
    if isinstance(value, type) and issubclass(value, Cell):
        return _instantiate(value, script)
    if isinstance(value, Cell) or (callable(value) and not isinstance(value, type)):
        return value
    raise UserError(
        f"ENTRY '{entry}' is a {type(value).__name__}, not a Cell; {_candidates(namespace)}"
    )


def _entry_failed(
    error: Exception, entry: str, script: Path, namespace: dict, command: str
) -> click.ClickException:
    """An exception raised while evaluating a factory ENTRY, naming the expression: a name the
    expression uses and the script lacks, the expression's own error, or one raised in a
    function it called, reported as `failure` does (at the script's line that raised)."""
    frames = traceback.extract_tb(error.__traceback__)
    if frames and frames[-1].filename == "<ENTRY>":  # the expression itself raised
        if isinstance(error, NameError):
            return UserError(
                f"in ENTRY '{entry}': {script} has no '{error.name}'; {_candidates(namespace)}"
            )
        return UserError(f"in ENTRY '{entry}': {type(error).__name__}: {error}")
    reported = failure(error, script, command)
    if isinstance(reported, UserError):
        return UserError(f"in ENTRY '{entry}': {reported.message}", where=reported.where)
    return reported


def defined_cells(namespace: dict) -> list[type]:
    """The Cell subclasses the script itself defines (not the ones it imports)."""
    from cellc.nn import Cell

    return [
        value
        for value in namespace.values()
        if isinstance(value, type) and issubclass(value, Cell) and value.__module__ == SCRIPT_MODULE
    ]


def _candidates(namespace: dict) -> str:
    from cellc.nn import Cell

    classes = [c.__name__ for c in defined_cells(namespace)]
    instances = [name for name, v in namespace.items() if isinstance(v, Cell)]
    parts = []
    if classes:
        parts.append(f"Cell classes: {', '.join(classes)}")
    if instances:
        parts.append(f"Cell instances: {', '.join(instances)}")
    return "; ".join(parts) if parts else "it defines no Cells"


def _instantiate(cls: type, script: Path):
    try:
        pyinspect.signature(cls).bind()
    except TypeError:
        signature = pyinspect.signature(cls.__init__)
        raise UserError(
            f"Cell class '{cls.__name__}' needs arguments {signature}; give a factory "
            f"expression instead, e.g. '{script}:{cls.__name__}(...)'"
        ) from None
    except ValueError:  # no signature to check: just try
        pass
    return cls()


# --- the inputs ----------------------------------------------------------------------------


def example_tensors(fn, examples: list[specs.ExampleInput]) -> list:
    """cellc Tensors of the examples, after checking their count against the entry's body."""
    from cellc import Tensor

    body = fn._body() if hasattr(fn, "_body") else fn
    try:
        signature = pyinspect.signature(body)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(*[e.value for e in examples])
        except TypeError:
            given = ", ".join(e.text for e in examples) or "none"
            name = getattr(body, "__qualname__", type(fn).__name__)
            count = len(signature.parameters)
            raise UserError(
                f"{name}{signature} takes {count} input{'s' * (count != 1)}, got "
                f"{len(examples)} --input ({given}); give one --input per argument, in order"
            ) from None
    return [Tensor(e.value) for e in examples]


def _check_chip(chip: str) -> None:
    """Refuses a --chip the CUDA lowering does not know, before the script is loaded."""
    from cellc.compiler.lowering.gpu_to_nvvm import SUPPORTED_CHIPS

    if chip not in SUPPORTED_CHIPS:
        raise click.BadParameter(
            f"unknown chip '{chip}'; choose one of: {', '.join(SUPPORTED_CHIPS)} "
            "(sm_XY: an NVIDIA GPU of compute capability X.Y)",
            param_hint="'--chip'",
        )


def _check_artifact_dtypes(examples: list[specs.ExampleInput]) -> None:
    from cellc.runtime.artifact import DTYPES

    for example in examples:
        if example.value.dtype.name not in DTYPES:
            raise click.BadParameter(
                f"'{example.text}': an artifact's inputs are {', '.join(DTYPES)}; "
                f"{example.value.dtype.name} can only be traced and printed (--emit)",
                param_hint="'--input'",
            )


def _write_command(folder: Path, command: str) -> None:
    """The whole compile, as a command, next to the driver's stage reproducer."""
    folder.mkdir(parents=True, exist_ok=True)
    if command.endswith(" ..."):  # called in-process (tests): no command line to record
        return
    script = folder / "compile-command.sh"
    script.write_text(
        "#!/bin/sh\n# The cellc compile that produced these files.\n"
        f"cd {shlex.quote(os.getcwd())} && cellc {command}\n"
    )
