"""``shouhu content``: import the Markdown library, review and publish it, recommend, diseases, comparison.

Wiring (main.py): ``app.add_typer(content_app, name="content")``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shouhu.cli.common import JsonOpt, guarded, out, print_json
from shouhu.settings import get_settings

content_app = typer.Typer(help="Content library, compliance review, recommendations. 内容运营:知识库、合规审核、推荐。",
                          no_args_is_help=True)
NoteOpt = Annotated[str, typer.Option("--note", help="Why (required to reject or retire, and to confirm warnings).")]
CustomerOpt = Annotated[str, typer.Option("--customer", help="The customer id.")]
SHIPPED = Path(__file__).resolve().parents[1] / "content" / "library"


def _engine() -> Any:
    from shouhu.storage import serving

    settings = get_settings()
    serving.upgrade(settings.serving)
    return serving.engine_for(settings.serving)


def _actor(given: str = "") -> str:
    return (given or f"cli:{os.environ.get('SUDO_USER') or os.environ.get('USER') or 'cli'}")[:64]


def _table(rows: list[dict[str, Any]], cols: list[str]) -> None:
    table = Table()
    for c in cols:
        table.add_column(c)
    for r in rows[:200]:
        table.add_row(*("" if r.get(c) is None else str(r[c]) for c in cols))
    out.print(table)


@content_app.command("import")
def import_cmd(directory: Annotated[Path | None, typer.Argument(help="Folder of *.md files (default: the samples).")]
               = None, as_json: JsonOpt = False) -> None:
    """Check every file (all or nothing) and store new versions as drafts. 导入并校验内容文件。"""
    from shouhu.content import review

    result = guarded(lambda: review.import_directory(_engine(), directory or SHIPPED, _actor()))
    if as_json:
        print_json(result)
        return
    out.print(f"{result['files']} file(s): {len(result['created'])} new version(s), "
              f"{len(result['unchanged'])} unchanged")
    _table(result["created"], ["item_id", "version", "content_hash"])


@content_app.command("review")
def review_cmd(item_id: Annotated[str | None, typer.Argument(help="Item to act on; none: list the queue.")] = None,
               submit: Annotated[bool, typer.Option("--submit", help="Send the draft to compliance review.")] = False,
               approve: Annotated[bool, typer.Option("--approve", help="Approve the version in review.")] = False,
               reject: Annotated[bool, typer.Option("--reject", help="Send it back to draft.")] = False,
               note: NoteOpt = "", reviewer: Annotated[str, typer.Option("--reviewer", help="Who reviews.")] = "",
               confirm_warnings: Annotated[bool, typer.Option("--confirm-warnings")] = False,
               as_json: JsonOpt = False) -> None:
    """List the review queue with rule findings, or submit / approve / reject one item. 合规审核。"""
    from shouhu.content import review

    engine = _engine()
    if item_id is None:
        rows = guarded(lambda: review.queue(engine))
        if as_json:
            print_json(rows)
            return
        _table([r | {"findings": len(r["findings"])} for r in rows],
               ["item_id", "version", "status", "kind", "title", "findings"])
        return
    if sum((submit, approve, reject)) != 1:
        raise typer.BadParameter("give exactly one of --submit, --approve, --reject")
    who = _actor(reviewer)
    if submit:
        result = guarded(lambda: review.submit(engine, item_id, who))
    elif approve:
        result = guarded(lambda: review.approve(engine, item_id, who, note, confirm_warnings=confirm_warnings))
    else:
        result = guarded(lambda: review.reject(engine, item_id, who, note))
    print_json(result) if as_json else out.print(result)


@content_app.command("publish")
def publish_cmd(item_id: str, as_json: JsonOpt = False) -> None:
    """Publish the approved version (rules checked again); the previous one is retired. 发布。"""
    from shouhu.content import review

    result = guarded(lambda: review.publish(_engine(), item_id, _actor()))
    print_json(result) if as_json else out.print(result)


@content_app.command("retire")
def retire_cmd(item_id: str, note: NoteOpt = "", as_json: JsonOpt = False) -> None:
    """Take the published version off line. 下线。"""
    from shouhu.content import review

    result = guarded(lambda: review.retire(_engine(), item_id, _actor(), note))
    print_json(result) if as_json else out.print(result)


@content_app.command("recommend")
def recommend_cmd(customer: CustomerOpt, query: Annotated[str, typer.Option("--query")] = "",
                  k: Annotated[int, typer.Option("--k", min=1, max=20)] = 5,
                  encoder: Annotated[str, typer.Option("--encoder", help="e5 | char_tfidf (default: e5 if "
                                                       "installed)")] = "",
                  lang: Annotated[str, typer.Option("--lang")] = "zh", as_json: JsonOpt = False) -> None:
    """Explained recommendations for one customer, offline. 个性化内容推荐(附理由)。"""
    from shouhu.content import service

    recs = guarded(lambda: service.recommend_for(_engine(), customer, query=query, k=k, encoder_name=encoder))
    rows = [r.to_dict() for r in recs]
    if as_json:
        print_json({"customer_id": customer, "query": query, "recommendations": rows})
        return
    _table([r | {"why": r["explanation_zh" if lang.startswith("zh") else "explanation_en"]} for r in rows],
           ["item_id", "title", "score", "why"])


@content_app.command("diseases")
def diseases_cmd(customer: CustomerOpt, lang: Annotated[str, typer.Option("--lang")] = "zh",
                 as_json: JsonOpt = False) -> None:
    """What the customer's policies would pay for common critical illnesses, and the gap. 疾病与保障缺口。"""
    from shouhu.content import service
    from shouhu.privacy.crypto import cipher_from_settings

    # the income is stored encrypted; the configured key decrypts it for the lost-income figure
    result = guarded(lambda: service.disease_gaps(_engine(), customer, cipher=cipher_from_settings(get_settings())))
    if as_json:
        print_json(result)
        return
    for d in result["diseases"]:
        out.print(d["zh" if lang.startswith("zh") else "en"], highlight=False)


@content_app.command("compare")
def compare_cmd(customer: CustomerOpt, product_type: Annotated[list[str] | None, typer.Option("--type")] = None,
                coverage: Annotated[str, typer.Option("--coverage")] = "", as_json: JsonOpt = False) -> None:
    """Neutral comparison of the shelf and the customer's wallet. 中立产品对比。"""
    from shouhu.content import service

    result = guarded(lambda: service.compare_for(_engine(), customer, product_types=product_type or [],
                                                 coverage=coverage))
    if as_json:
        print_json(result)
        return
    _table(result["rows"], ["source", "code", "name", "type_zh", "cover_years", "waiting_days", "premium_per_10k"])
    out.print(result["neutrality_zh"])


@content_app.command("evaluate")
def evaluate_cmd(labels: Path, encoder: Annotated[str, typer.Option("--encoder")] = "",
                 k: Annotated[int, typer.Option("--k", min=1, max=20)] = 5, as_json: JsonOpt = False) -> None:
    """nDCG@k of the ranker and the baselines on a labelled set, over the shipped samples. 推荐质量评估。"""
    from shouhu.content import diseases, evaluation, library
    from shouhu.content.recommend import Candidate

    def run() -> dict[str, float]:
        items = library.load_directory(SHIPPED, list(diseases.catalogue()))
        cands = [Candidate(i, "published") for i in items]
        cases = evaluation.load_cases(labels)
        return {name: round(evaluation.evaluate(cases, cands, make(encoder), k)["mean"], 4)
                for name, make in evaluation.BASELINES.items()}

    result = guarded(run)
    print_json(result) if as_json else out.print(result)
