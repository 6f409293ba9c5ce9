"""A game's outputs: game.md (the answer in words and tables), game.json, game.png.

Each vendor's chosen price (as a multiple of its price when the game starts), its token and
revenue shares over the horizon, its objective and its regret, without and with the shock,
and who followed the shock by how much.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sim.game.market import GameAnswer, Play, horizon
from sim.provenance import scenario_hash, versions
from sim.report.files import write_json, write_text
from sim.report.folders import Identity
from sim.sweep.store import json_safe

MARKER = "game.json"
FOLLOWED = 0.1  # a rival whose price moved by more than this fraction after the shock followed it


def game_identity(answer_scenario, start: str, shock: dict[str, float]) -> Identity:
    digest = hashlib.sha256(f"{scenario_hash(answer_scenario)}:{start}:{json.dumps(shock, sort_keys=True)}".encode())
    return Identity(MARKER, "identity", digest.hexdigest(), f"a game on {answer_scenario.name} from {start}")


def shares(play: Play, start: str) -> dict[str, dict[str, float]]:
    """Each vendor's token and revenue share over the horizon (ratios of the period's sums)."""
    out = {}
    for column, name in (("api_tokens_per_day", "token_share"), ("revenue", "revenue_share")):
        table = play.result.wide(column).loc[start:]
        total = float(table.to_numpy().sum())
        out[name] = {v: float(table[v].sum()) / total for v in table.columns}
    return out


def followed(players: list[str], calm: dict[str, float], shocked: dict[str, float]) -> dict[str, float]:
    """The players whose chosen price multiple moved by more than FOLLOWED after the shock: each one's relative move."""
    moves = {v: shocked[v] / calm[v] - 1 for v in players}
    return {v: move for v, move in moves.items() if abs(move) > FOLLOWED}


def answer_sentences(answer: GameAnswer) -> list[str]:
    """The answer in plain words: how each game ended, who followed the shock, what happened to the leaders."""
    calm = answer.calm
    lines = [f"Without a shock, from {answer.start}: the response path {calm.path.status} "
             f"after {len(calm.path.rounds) - 1} rounds ({calm.path.evaluations} simulated profiles)."]  # fmt: skip
    if answer.shocked is None:
        return lines
    shocked = answer.shocked
    lines.append(f"With the shock: the path {shocked.path.status} after {len(shocked.path.rounds) - 1} rounds.")
    moves = followed(answer.players, calm.multipliers, shocked.multipliers)
    followers = [f"{v} ({100 * move:+.0f} %)" for v, move in moves.items()]
    shocked_vendors = ", ".join(f"{v} at {100 * (1 - m):.0f} % off" for v, m in answer.shock.items())
    lines.append(
        f"After {shocked_vendors}, "
        + (f"these vendors changed their price by more than {FOLLOWED:.0%}: {', '.join(followers)}."
           if followers else f"no vendor changed its price by more than {FOLLOWED:.0%}.")
    )  # fmt: skip
    before, after = shares(calm, answer.start), shares(shocked, answer.start)
    for metric in ("token_share", "revenue_share"):
        leader_before = max(before[metric], key=before[metric].get)
        leader_after = max(after[metric], key=after[metric].get)
        moves = ", ".join(
            f"{v} {100 * (after[metric][v] - before[metric][v]):+.1f} pp" for v in sorted(after[metric],
            key=lambda v: -abs(after[metric][v] - before[metric][v]))[:3]
        )  # fmt: skip
        lines.append(
            f"{metric.replace('_', ' ').capitalize()} over the horizon: leader {leader_before} -> {leader_after}; "
            f"largest moves {moves}."
        )
    return lines


CAVEATS = (
    "Objectives are stated assumptions (the scenario's `strategy` blocks), not fitted; each vendor "
    "chooses one price multiple for the whole horizon (an open-loop game), and the loss floor of "
    "`vendors.<id>.losses` still applies on top. The answer holds for these objectives and this one "
    "seed set; how it moves with the objectives' weights is not computed here."
)


def save_game(answer: GameAnswer, folder: Path) -> None:
    plays = {"without the shock": answer.calm} | ({"with the shock": answer.shocked} if answer.shocked else {})
    lines = [f"# Game on {answer.scenario.name} from {answer.start}", ""]
    lines += [f"- {line}" for line in answer_sentences(answer)]
    lines += ["", f"*{CAVEATS}*", ""]
    for title, play in plays.items():
        table = shares(play, answer.start)
        lines += [
            f"## {title.capitalize()}: {play.path.status}",
            "",
            "| vendor | price multiple | token share | revenue share | objective | regret |",
            "|---|---|---|---|---|---|",
        ]
        for vendor in answer.scenario.vendors:
            chosen = play.multipliers.get(vendor)
            lines.append(
                f"| {vendor} | {'timeline' if chosen is None else f'{chosen:.3g}'} | "
                f"{100 * table['token_share'][vendor]:.1f} % | {100 * table['revenue_share'][vendor]:.1f} % | "
                f"{_number(play.path.payoffs.get(vendor))} | {_number(play.path.regret.get(vendor))} |"
            )
        lines.append("")
    span = horizon(answer.calm.result, answer.start)
    lines += [
        f"Seeds {answer.seeds}; horizon {span.months[0]} to {span.months[-1]}; versions "
        + ", ".join(f"{k} {v}" for k, v in versions().items()),
        "",
    ]
    write_text(folder / "game.md", "\n".join(lines))
    identity = game_identity(answer.scenario, answer.start, answer.shock)
    write_json(
        folder / MARKER,
        json_safe(
            {
                "identity": identity.value,
                "scenario": answer.scenario.model_dump(mode="json"),
                "start": answer.start,
                "shock": answer.shock,
                "seeds": answer.seeds,
                "plays": {
                    title: {
                        "status": play.path.status,
                        "rounds": play.path.rounds,
                        "multipliers": play.multipliers,
                        "objectives": play.path.payoffs,
                        "regret": play.path.regret,
                        "evaluations": play.path.evaluations,
                        "shares": shares(play, answer.start),
                    }
                    for title, play in plays.items()
                },
                "answer": answer_sentences(answer),
                "versions": versions(),
            }
        ),
    )


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g}"
