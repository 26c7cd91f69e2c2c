"""Render email templates in a Jinja2 sandbox: subject, text part and HTML part per kind.

Templates live in the repository's `templates/` folder (installed as the package
`coachd_templates`, see integrations/resources.py); a folder named by
`email.templates_dir` may override any file by giving one of the same name. Rendering is
sandboxed (no attribute escapes), strict (a misspelled variable is an error, not a blank),
autoescaped for `.html` only, and bounded: loops, repetition and output size are capped so a
bad template fails with an error instead of hanging the daemon.

A Renderer reads every template file once, when it is built, and renders from that copy: a
file edited while the daemon runs is not used until a reload has checked it
(`check_templates`), so a broken or hostile edit can never reach an email unchecked.
"""

from __future__ import annotations

import contextvars
import logging
import operator
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from integrations import resources
from integrations.errors import UserError
from planner.text import shown, shown_block, visible

log = logging.getLogger(__name__)

# Bounds for one render. Real emails are a few kB and loop over a few dozen rows.
MAX_OUTPUT_CHARS = 1_000_000
MAX_ITERATIONS = 100_000
MAX_INT_ARGUMENT = 100_000
MAX_SECONDS = 5.0
MAX_SUBJECT_CHARS = 250
MAX_TEMPLATE_BYTES = 1_000_000

# Characters that must never reach a header: every C0/C1 control, NEL, the Unicode line
# and paragraph separators (some clients and libraries treat them as line breaks), and the
# invisible format characters (bidi controls such as U+202E, zero-width characters).
UNSAFE_HEADER = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)

# Context keys whose strings are one line of outside text (a title, a name, an address);
# every other string keeps its line breaks. See `safe_context`.
ONE_LINE_KEYS = frozenset(
    {"title", "organizer", "name", "email", "location", "rep", "delegate", "who", "when"}
)
BLOCK_KEYS = frozenset({"description"})


class TemplateError(UserError):
    """A template failed to render: syntax, undefined variable, sandbox refusal, or a bound."""


@dataclass(frozen=True)
class Rendered:
    """One email's rendered parts: a one-line subject, the text part and the HTML part."""

    subject: str
    text: str
    html: str


def one_line(value: str, limit: int | None = None) -> str:
    """Strip control characters (CR, LF, NUL, U+2028/2029...) and collapse whitespace."""
    cleaned = " ".join(UNSAFE_HEADER.sub(" ", value).split())
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def safe_context(value: Any, key: str = "") -> Any:
    """A copy of a template context in which every string is safe to show (issue #17).

    Outside text (titles, names, descriptions) reaches templates through the context, so the
    renderer cleans all of it on the way in, for every email and every template (a user's
    too): C0/C1 controls, U+2028/2029, bidi controls and other invisible format characters
    are removed; one-line fields (`ONE_LINE_KEYS`) lose their line breaks and are capped at
    200 characters, descriptions at 2000. HTML escaping stays autoescape's job.
    """
    if isinstance(value, str):
        if key in ONE_LINE_KEYS:
            return shown(value)
        if key in BLOCK_KEYS:
            return shown_block(value)
        return visible(value)
    if isinstance(value, Mapping):
        return {k: safe_context(v, k if isinstance(k, str) else key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_context(v, key) for v in value]
    return value


# -- bounds ---------------------------------------------------------------------------------


@dataclass
class _Budget:
    iterations: int
    deadline: float


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("_budget", default=None)


def _spend(n: int = 1) -> None:
    b = _budget.get()
    if b is None:
        return
    b.iterations -= n
    if b.iterations < 0:
        raise SecurityError(f"template loops more than {MAX_ITERATIONS} times in total")
    if time.monotonic() > b.deadline:
        raise SecurityError(f"template took longer than {MAX_SECONDS:g}s to render")


def _bounded_range(*args: int) -> Iterator[int]:
    """`range` for templates: every step counts against the render's iteration budget."""
    r = range(*args)
    if len(r) > MAX_ITERATIONS:
        raise SecurityError(f"range of {len(r)} items is too large (max {MAX_ITERATIONS})")
    for i in r:
        _spend()
        yield i


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> None:
    for v in (*args, *kwargs.values()):
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT_ARGUMENT:
            raise SecurityError(f"{what}: argument {v} is too large (max {MAX_INT_ARGUMENT})")


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter so huge numeric arguments (`center(10**9)`) are refused up front."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs, f"filter {name!r}")
        return fn(*args, **kwargs)

    # Jinja inspects these markers to pass the environment/context/eval context.
    for marker in ("jinja_pass_arg",):
        if hasattr(fn, marker):
            setattr(wrapper, marker, getattr(fn, marker))
    return wrapper


def _size(v: Any) -> int:
    try:
        return len(v)
    except TypeError:
        return 1


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus bounds on arithmetic, calls and loops."""

    intercepted_binops = frozenset({"*", "**", "<<"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError(f"exponent {right} is too large")
            if isinstance(left, int | float) and abs(left) > 10**12:
                raise SecurityError("base of ** is too large")
            return operator.pow(left, right)
        if operator_ == "<<":
            if isinstance(right, int) and right > 64:
                raise SecurityError(f"shift by {right} is too large")
            return operator.lshift(left, right)
        # `*`: repeating a string or list is bounded by the size of the result.
        for seq, n in ((left, right), (right, left)):
            if (
                isinstance(n, int)
                and isinstance(seq, str | list | tuple)
                and _size(seq) * abs(n) > MAX_OUTPUT_CHARS
            ):
                raise SecurityError("repetition result is too large")
        return operator.mul(left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs, "call")
        _spend()
        return super().call(__context, __obj, *args, **kwargs)


# -- the renderer -----------------------------------------------------------------------------


class _SnapshotLoader(jinja2.BaseLoader):
    """Serves the template sources read when the Renderer was built; never the disk."""

    def __init__(
        self, sources: Mapping[str, str], broken: Mapping[str, str], origins: Mapping[str, str]
    ) -> None:
        self.sources = sources
        self.broken = broken
        self.origins = origins

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        if template in self.broken:
            raise TemplateError(self.broken[template])
        if template not in self.sources:
            raise jinja2.TemplateNotFound(template)
        # The origin as "filename": tracebacks through the template then name the user's file.
        return self.sources[template], self.origins.get(template), lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.sources)


class Renderer:
    """Renders `templates/<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`.

    `templates_dir` (from `email.templates_dir`) is searched before the built-in folder, so a
    user copy of any file (including `_layout.html`) replaces the built-in one. Every file is
    read here, once; later edits on disk are not seen by this Renderer (build a new one,
    check it, and swap it in: that is what a reload does).
    """

    def __init__(self, templates_dir: Path | None = None, builtin_dir: Path | None = None) -> None:
        builtin = builtin_dir or resources.templates_dir()
        self.dirs = [d for d in (templates_dir, builtin) if d is not None]
        if templates_dir is not None and not templates_dir.is_dir():
            raise UserError(f"email.templates_dir: {templates_dir} is not a folder")
        self._sources: dict[str, str] = {}
        self._broken: dict[str, str] = {}
        self._origins: dict[str, str] = {}
        # The built-in folder first, then the user's: a user file replaces a built-in one.
        for d in reversed(self.dirs):
            self._read_folder(d, builtin=d == builtin)
        self.env = _Sandbox(
            loader=_SnapshotLoader(self._sources, self._broken, self._origins),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "htm"), default_for_string=False, default=False
            ),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self.env.globals["range"] = _bounded_range
        self.env.filters = {
            name: _bounded_filter(name, fn) for name, fn in self.env.filters.items()
        }

    def _read_folder(self, folder: Path, *, builtin: bool) -> None:
        try:
            files = sorted(p for p in folder.rglob("*") if p.is_file())
        except OSError as e:
            raise UserError(f"cannot read the templates folder {folder}: {e}") from None
        for path in files:
            name = path.relative_to(folder).as_posix()
            if name.startswith(".") or "/." in name:
                continue  # editor swap files, hidden folders
            if builtin and path.suffix not in (".html", ".txt"):
                continue  # the package's __init__.py, README.md, the example config
            origin = f"{folder.name}/{name}" if builtin else str(path)
            self._origins[name] = origin
            self._sources.pop(name, None)
            self._broken.pop(name, None)
            try:
                if path.stat().st_size > MAX_TEMPLATE_BYTES:
                    self._broken[name] = f"{origin}: larger than {MAX_TEMPLATE_BYTES} bytes"
                    continue
                self._sources[name] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                self._broken[name] = f"{origin}: not UTF-8 text (save the file as UTF-8)"
            except OSError as e:
                self._broken[name] = f"{origin}: cannot be read: {e.strerror or e}"

    def kinds(self) -> list[str]:
        """Every kind that has a subject template in any folder, sorted."""
        return sorted(
            n.removesuffix(".subject.txt")
            for n in (*self._sources, *self._broken)
            if n.endswith(".subject.txt") and "/" not in n
        )

    def origin(self, name: str) -> str:
        """Where a template file comes from, for error messages (`templates/agenda.html`)."""
        return self._origins.get(name, name)

    def render_file(self, name: str, context: Mapping[str, Any]) -> str:
        """Render one template file with bounds; raises TemplateError naming the file."""
        token = _budget.set(_Budget(MAX_ITERATIONS, time.monotonic() + MAX_SECONDS))
        try:
            template = self.env.get_template(name)
            parts: list[str] = []
            size = 0
            for chunk in template.generate(**context):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise SecurityError(f"output is larger than {MAX_OUTPUT_CHARS} characters")
                _spend(0)
                parts.append(chunk)
            return "".join(parts)
        except jinja2.TemplateNotFound as e:
            raise TemplateError(f"template {e.name} not found in {self._where()}") from None
        except jinja2.TemplateSyntaxError as e:
            where = e.filename or self.origin(name)
            raise TemplateError(f"{where}:{e.lineno}: {e.message}") from None
        except (jinja2.TemplateError, SecurityError) as e:
            raise TemplateError(f"{self._culprit(e, name)}: {e}") from None
        except (RecursionError, OverflowError, MemoryError, ArithmeticError) as e:
            raise TemplateError(f"{self._culprit(e, name)}: {type(e).__name__}: {e}") from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
            raise TemplateError(f"{self._culprit(e, name)}: {type(e).__name__}: {e}") from None
        finally:
            _budget.reset(token)

    def _culprit(self, e: BaseException, name: str) -> str:
        """The template file (and line) where `e` was raised: with `{% extends %}` and
        includes this is often not `name` itself but a layout or partial it uses."""
        files = set(self._origins.values())
        where = self.origin(name)
        tb = e.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in files:
                where = f"{filename}:{tb.tb_lineno}"
            tb = tb.tb_next
        return where

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        """Render all three parts of one email kind."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
            raise TemplateError(f"not an email kind: {kind!r}")
        context = safe_context(context)
        subject = one_line(self.render_file(f"{kind}.subject.txt", context), MAX_SUBJECT_CHARS)
        if not subject:
            raise TemplateError(f"{self.origin(kind + '.subject.txt')}: the subject is empty")
        text = self.render_file(f"{kind}.txt", context)
        html = self.render_file(f"{kind}.html", context)
        return Rendered(subject=subject, text=text, html=html)

    def _where(self) -> str:
        return " or ".join(str(d) for d in self.dirs)


def check_templates(
    renderer: Renderer,
    samples: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """Render every kind against sample data; return one readable error per broken file.

    `samples` maps kind -> context and limits the check to those kinds. By default every kind
    coachd sends (REQUIRED_KINDS: a missing file fails) and every kind with a subject
    template is checked, with samples from the planner modules that offer a
    `sample_context(kind)`; a kind with templates but no sample is reported, so nothing goes
    unchecked.
    """
    kinds = sorted(samples) if samples is not None else sorted({*renderer.kinds(), *REQUIRED_KINDS})
    if samples is None:
        samples = default_samples(kinds)
    errors: list[str] = []
    for kind in kinds:
        ctx = samples.get(kind)
        if ctx is None:
            errors.append(f"{renderer.origin(kind + '.subject.txt')}: no sample data to check it")
            continue
        for name in (f"{kind}.subject.txt", f"{kind}.txt", f"{kind}.html"):
            try:
                out = renderer.render_file(name, ctx)
                if name.endswith(".subject.txt") and not one_line(out):
                    errors.append(f"{renderer.origin(name)}: the subject is empty")
            except TemplateError as e:
                errors.append(str(e))
    # A broken layout or partial fails every kind that uses it: say so once.
    return list(dict.fromkeys(errors))


# Other planner modules that provide `sample_context(kind)` for the kinds they own.
_SAMPLE_MODULES = (
    "planner.emails",
    "planner.audit",
    "planner.triage",
    "planner.invitations",
    "planner.delegation",
    "planner.replies",
    "planner.org_report",
)
# Every kind coachd sends: `coachd check` fails when one of these has no templates at all.
REQUIRED_KINDS = (
    "agenda",
    "summary",
    "digest",
    "sales_meeting",
    "config_error",
    "fault",
    "decline_reply",
    "delegate",
    "audit",
    "leadership_report",
    "org_report",
    "invitation",
    "cancellation",
    "reply_confirmation",
)


def default_samples(kinds: list[str]) -> dict[str, Mapping[str, Any]]:
    """Sample contexts for the given kinds from whichever planner module knows each one."""
    import importlib

    out: dict[str, Mapping[str, Any]] = {}
    providers = []
    for mod_name in _SAMPLE_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        fn = getattr(mod, "sample_context", None)
        if callable(fn):
            providers.append(fn)
    for kind in kinds:
        for fn in providers:
            try:
                out[kind] = fn(kind)
                break
            except (KeyError, ValueError):
                continue
    return out
