"""``acuvoice plan``: build a personal routine (or a practice plan) from the point library."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from acuvoice.app import PlanRequest, plan, plan_levels, save_plan
from acuvoice.errors import OutputError, UsageError
from acuvoice.plan.limits import MAX_DAYS, MAX_MINUTES, MIN_MINUTES

if TYPE_CHECKING:
    from acuvoice.plan import PlanAnswers


def plan_command(answers: PlanAnswers, days: int | None = None) -> str:
    """The command line that asks for ``answers``."""
    parts = [f"acuvoice plan --for {','.join(answers.concerns)} --minutes {answers.minutes}"]
    parts += [f"--avoid {c}" for c in answers.avoid]
    if answers.level != "beginner":
        parts.append(f"--level {answers.level}")
    if answers.language != "en":
        parts.append(f"--language {answers.language}")
    if days is not None:
        parts.append(f"--days {days}")
    return " ".join(parts)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--for back,stress --for sleep`` -> ``("back", "stress", "sleep")``."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@click.command("plan")
@click.option(
    "--for",
    "concerns",
    multiple=True,
    required=True,
    metavar="CONCERN[,CONCERN]",
    help="What the session is for, one to three of: back, neck, stress, anxiety, headache, "
    "nausea, sleep, menstrual-cramps, fatigue (comma-separated or repeated).",
)
@click.option(
    "--minutes",
    type=click.IntRange(MIN_MINUTES, MAX_MINUTES),
    default=15,
    show_default=True,
    help="How long the session lasts; it is fitted to this exactly.",
)
@click.option(
    "--avoid",
    multiple=True,
    metavar="CONDITION",
    help="Leave out what to avoid with this condition, e.g. pregnancy (repeatable or "
    "comma-separated; `acuvoice points --conditions` lists them).",
)
@click.option(
    "--level",
    type=click.Choice(list(plan_levels()) or ["beginner"]),
    default="beginner",
    show_default=True,
    help="The dose: beginner (holds of about 45 s, at most 2 min), intermediate (about "
    "1.5 min), experienced (about 2 min, at most 3), gentle (light, at most 1 min: on "
    "medication or frail).",
)
@click.option(
    "--days",
    type=click.IntRange(2, MAX_DAYS),
    metavar="N",
    help="Write a practice plan of N daily sessions whose holds grow in stages (e.g. 42 "
    "for the six weeks of the low back trial) into the folder given by -o.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=True, path_type=Path),
    help="Write the routine to this .yaml file (a practice plan: into this folder). "
    "Without it the routine is printed.",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--language", default="en", show_default=True, help="The routine's language.")
def command(
    concerns: tuple[str, ...],
    minutes: int,
    avoid: tuple[str, ...],
    level: str,
    days: int | None,
    output: Path | None,
    force: bool,
    language: str,
) -> None:
    """Build a routine for your concerns, length and profile from the point library.

    Points are the ones the sources use for each concern, leaving out any to avoid with
    your conditions; they are ordered so you move little, with holds within the dose for
    your level, slow breathing, the safety notice and the warning signs of each concern,
    and a rest, fitted exactly to the minutes. The same answers always give the same file.
    When no session can be made (for example lower back pain in pregnancy: the sources
    advise no pressure on the lower back), the message says why and what can be made.

    \b
    Examples:
      acuvoice plan --for back,stress --minutes 20 -o my-routine.yaml
      acuvoice render my-routine.yaml -o my-session.mp3
      acuvoice plan --for stress --minutes 10 --avoid pregnancy
      acuvoice plan --for sleep --minutes 15 | acuvoice render - -o sleep.mp3
      acuvoice plan --for back --minutes 30 --days 42 -o back-plan
    """
    from acuvoice.plan import PlanError

    request = PlanRequest(_split(concerns), minutes, _split(avoid), level, language, days)
    if days is not None and output is None:
        raise click.UsageError("--days writes a folder of routines; name it with -o FOLDER")
    try:
        outcome = plan(request)
    except PlanError as e:
        if e.offer is None:
            raise
        raise UsageError(f"{e} Try: {plan_command(e.offer, days)}") from None
    if output is None:
        sys.stdout.write(outcome.text)
        for line in outcome.lines:
            click.echo(line, err=True)
        return
    try:
        written = save_plan(outcome, output, force=force)
    except OutputError as e:
        if "already" in str(e) and not force:
            raise OutputError(f"{e}, or pass --force to overwrite") from None
        raise
    for line in outcome.lines:
        click.echo(line, err=True)
    if outcome.practice is None:
        shown = shlex.quote(str(output))
        click.echo(f"wrote {shown}; next: acuvoice render {shown} -o session.mp3")
    else:
        first = shlex.quote(str(written[0]))
        click.echo(
            f"wrote {len(written)} files into {shlex.quote(str(output))} (plan.yaml lists "
            f"the {days} days); next: acuvoice render {first} -o day-1.mp3"
        )
