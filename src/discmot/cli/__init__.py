"""The ``discmot`` command line: each verb parses its arguments and calls the library, nothing more.

One module per verb (or pair of related verbs); this one builds the parser and runs the chosen verb.
Heavy modules (torch, the models, video IO) are imported inside the verb that needs them, so that
``discmot eval`` starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import select
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from discmot.cli import analyze, bench, convert, data, demo, evaluate, interpolate, show, track, train
from discmot.engine.signals import sigterm_as_exit
from discmot.io.atomic import FILE_IN_THE_WAY, file_in_the_way

log = logging.getLogger("discmot")


class Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` that takes no abbreviated options, and names the option a mistyped
    one was likely meant to be.

    With abbreviations, ``discmot track V --frame 30`` was read as ``--frame-rate 30`` and tracked every
    frame. The verbs' parsers are made by ``add_subparsers`` with this class too (its default is the
    parent's class), so no verb takes them either.
    """

    def __init__(self, *args, allow_abbrev: bool = False, **kwargs):
        # mypy takes ``*args`` as possibly reaching allow_abbrev's position (the 11th); callers pass a few
        super().__init__(*args, allow_abbrev=allow_abbrev, **kwargs)  # type: ignore[misc]

    def parse_args(self, args=None, namespace=None):
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            message = f"unrecognized arguments: {' '.join(unknown)}"
            self.error(message + _did_you_mean(unknown, self._verb_parser(parsed)))
        return parsed

    def _verb_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The parser of the verb given (its options are the ones a near miss is compared with)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                verb = getattr(parsed, action.dest, None)
                return self if verb is None else action.choices.get(verb, self)
        return self


def _did_you_mean(unknown: list[str], parser: argparse.ArgumentParser) -> str:
    """``" (did you mean --max-frames?)"`` for the first unknown ``--option`` close to one of the
    ``parser``'s, else ``""``."""
    options = [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]
    for token in unknown:
        if token.startswith("--"):
            close = difflib.get_close_matches(token.partition("=")[0], options, n=1, cutoff=0.6)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="discmot",
        description="Multi-object tracking with discriminative object embeddings (FDTA, CSTrack).",
    )
    parser.add_argument("--version", action="version", version=f"discmot {_version()}")
    _add_log_options(parser)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    evaluate.add_eval(verbs)
    track.add_track(verbs)
    data.add_synth(verbs)
    convert.add_convert(verbs)
    data.add_depth(verbs)
    data.add_jde_export(verbs)
    train.add_train(verbs)
    demo.add_demo(verbs)
    analyze.add_analyze(verbs)
    bench.add_bench(verbs)
    show.add_show(verbs)
    interpolate.add_interpolate(verbs)
    for verb in verbs.choices.values():
        _add_log_options(verb, default=argparse.SUPPRESS)  # also after the verb: `discmot track ... -q`
    return parser


def _add_log_options(parser: argparse.ArgumentParser, default=False) -> None:
    """``-v``/``-q``. On a verb their default is ``SUPPRESS``: not given there, they leave the values
    given before the verb (or the main parser's False) alone."""
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="log debug messages")
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="only log warnings and errors"
    )


def _version() -> str:
    from discmot._version import __version__

    return __version__


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level, format=f"{_process_label()}%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def _process_label() -> str:
    """``"[rank N] "`` in one of several processes that torchrun started (its ``RANK`` and ``WORLD_SIZE``),
    else ``""``. The processes of a run share one terminal: without it, a warning or an error of one
    rank cannot be told from another's."""
    try:
        rank, world_size = int(os.environ["RANK"]), int(os.environ.get("WORLD_SIZE", "1"))
    except (KeyError, ValueError):
        return ""
    return f"[rank {rank}] " if world_size > 1 else ""


def console_main() -> NoReturn:
    """The ``discmot`` console script and ``python -m discmot``: `main`, then exit with its status.

    A process that joined a torchrun process group exits through
    `discmot.engine.distributed.exit_process`, which skips Python's shutdown, where torch's gloo threads
    can abort the process (its docstring): on every way out, a ``SystemExit`` (SIGTERM under
    `sigterm_as_exit`, ``-v``'s re-raised errors) and an unexpected exception too, whose traceback is
    printed as Python would (status 1).
    """
    status: str | int | None  # a SystemExit's code, as sys.exit takes it
    try:
        status = main()
    except SystemExit as stop:
        status = stop.code
    except BaseException:
        if not _joined_process_group():
            raise
        traceback.print_exc()
        status = 1
    if _joined_process_group():
        sys.modules["discmot.engine.distributed"].exit_process(status)
    sys.exit(status)


def _joined_process_group() -> bool:
    """Whether this process joined a process group (`discmot.engine.distributed.init_distributed`); the
    module is not imported for that where nothing imported it (torch.distributed stays unloaded)."""
    distributed = sys.modules.get("discmot.engine.distributed")
    return distributed is not None and distributed.joined_process_group()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parses ``argv`` (``sys.argv[1:]``), runs the verb and returns the exit status
    (`console_main` exits with it).

    Input errors (a ``ValueError`` or an ``OSError`` from the library: bad files, folders and options, a
    run folder that would be overwritten, an output folder that cannot be written) are printed as one
    line ``discmot: error: ...`` with exit status 2, without a traceback (``-v`` shows it). A
    ``ValueError`` raised inside another package (numpy, torch, ...) rather than by one of discmot's
    checks may as well be a bug: a second line says where it came from and asks for the traceback.
    In one of several processes started by torchrun, log lines and errors start with ``[rank N]``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    empty = _empty_arguments(args, sys.argv[1:] if argv is None else list(argv))
    if empty:
        parser.error(f"{empty} is empty (an unset shell variable, or a $(...) that printed nothing?)")
    _configure_logging(args.verbose, args.quiet)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        with sigterm_as_exit():
            status = run(args)
        # written now, inside this handler: a small output into a pipe is block-buffered, and Python's
        # own flush at exit would meet a gone reader with "Exception ignored ... BrokenPipeError"
        if sys.stdout is not None:  # None when started with stdout closed (`>&-`)
            sys.stdout.flush()
        return status
    except BrokenPipeError as error:
        if not _stdout_gone():
            return _input_error(error, args)
        return _broken_pipe_status()  # quiet, as a tool killed by SIGPIPE (`discmot eval | head -1`)
    except (ValueError, OSError) as error:
        return _input_error(error, args)
    except KeyboardInterrupt:
        print(f"{_process_label()}discmot: interrupted{interrupted_outputs(args)}", file=sys.stderr)
        return 130


def interrupted_outputs(args: argparse.Namespace) -> str:
    """What a ``track`` of one file stopped by Ctrl-C left: nothing, as its outputs are written under a
    temporary name and renamed at the end (`discmot.io.atomic`), so an older file of that name is intact.
    A camera keeps what was tracked (it is not interrupted: Ctrl-C ends it); a split says itself which
    sequences are on disk. An older file is spoken of only where there is one (the run's own are renamed
    into place only at its end, so what is there now is older: SIGTERM's note is made before the run)."""
    if getattr(args, "verb", None) != "track" or args.split_out is not None:
        return ""
    written = [path for path in (args.save_txt, args.save_video) if path is not None]
    if not written:
        return ""
    older = [path for path in written if os.path.isfile(path)]
    if not older:
        kept = ""
    elif len(older) == 2:
        kept = " (the older files there are kept as they were)"
    else:
        kept = (
            f" (the older {older[0]} is kept as it was)"
            if len(written) == 2
            else " (an older file there is kept as it was)"
        )
    return f": {' and '.join(written)} not written{kept}"


def _input_error(error: ValueError | OSError, args: argparse.Namespace) -> int:
    """Prints an input error as ``discmot: error: ...`` (see `main`) and returns exit status 2."""
    if args.verbose:
        raise error
    label = _process_label()
    message = _one_line(error)
    if label:  # the engine's peer-failure error starts "rank N: " itself (for library callers): said once
        message = message.removeprefix(label.strip("[] ") + ": ")
    print(f"{label}discmot: error: {message}", file=sys.stderr)
    if isinstance(error, ValueError) and (origin := _raised_outside_discmot(error)):
        print(
            f"{label}discmot: (raised inside {origin}, not by a check of discmot's: if the input looks "
            "right, run again with -v and report the traceback)",
            file=sys.stderr,
        )
    return 2


def _broken_pipe_status() -> int:
    """The exit status of a tool killed by SIGPIPE, 128 + 13, as shells report it; Windows has no
    SIGPIPE (its `signal` module lacks the name) and gets the same number."""
    return 128 + getattr(signal, "SIGPIPE", 13)


def _stdout_gone() -> bool:
    """Whether standard output's reader has gone (a pipe into ``head`` that has closed): the write end
    of a pipe without readers polls as an error. Then stdout is pointed at the null device, so that
    Python's own flush at exit does not print "Exception ignored ... BrokenPipeError" afterwards."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # replaced by an object without a file (tests)
        return False
    if not hasattr(select, "poll"):  # Windows: no poll on pipes; a broken stdout is the usual cause
        gone = True
    else:
        poller = select.poll()
        poller.register(descriptor, select.POLLOUT)
        gone = any(events & select.POLLERR for _, events in poller.poll(0))
    if gone:
        os.dup2(os.open(os.devnull, os.O_WRONLY), descriptor)
    return gone


def _empty_arguments(args: argparse.Namespace, argv: list[str]) -> str | None:
    """The first argument given as an empty string, as the user wrote it (``--weights``, or ``SOURCE``
    for a positional), else None. No option takes an empty value; as a path, ``""`` would mean the
    current folder, and the error would name that instead of the empty argument."""
    for name, value in vars(args).items():
        if value == "" or (isinstance(value, list) and "" in value):
            flag = "--" + name.replace("_", "-")
            given = any(token == flag or token.startswith(flag + "=") for token in argv)
            return flag if given else name.upper()
    return None


def _one_line(error: Exception) -> str:
    """The message of an input error; an OS error as ``path: what`` (``[Errno 13] Permission denied:
    'x'`` becomes ``x: permission denied``)."""
    if isinstance(error, FileExistsError | NotADirectoryError) and (
        blocking := file_in_the_way(error.filename)
    ):
        return f"{blocking}: {FILE_IN_THE_WAY}"
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        target = f" -> {error.filename2}" if error.filename2 is not None else ""
        return f"{error.filename}{target}: {error.strerror[:1].lower()}{error.strerror[1:]}"
    return str(error)


def _raised_outside_discmot(error: BaseException) -> str | None:
    """The package whose code raised ``error`` (``"numpy"``), when that is not discmot; None when
    discmot raised it (its checks, or a builtin such as ``int()`` that discmot called)."""
    traceback = error.__traceback__
    if traceback is None:
        return None
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    module = traceback.tb_frame.f_globals.get("__name__", "")
    if module in _RERAISED_FROM_WORKERS:  # its origin is in another process: unknown here
        return None
    package = module.partition(".")[0]
    return None if package in ("discmot", "__main__", "") else package


#: Where an error of a worker process (a DataLoader worker, `evaluate`'s process pool) is raised again
#: in the main process: discmot's own checks come through these too.
_RERAISED_FROM_WORKERS = ("torch._utils", "concurrent.futures._base", "multiprocessing.pool")
