"""Pure rule matching for ceasefire-watch: rule packs in, ArticleResult out.

No I/O beyond the bundled packs (importlib.resources), no clock, no database.

    ruleset = build_ruleset([read_bundled("ceasefire")])
    result = ruleset.classify(title, text)
    result.categories, result.severity, result.to_record()
"""

from rules.matcher import RuleSet, build_ruleset
from rules.result import ArticleResult, Match
from rules.schema import CATEGORIES, SEVERITIES, Near, Phrase, Rule, parse_pack
from rules.yamlsrc import SourceError

__all__ = [
    "ArticleResult", "CATEGORIES", "Match", "Near", "Phrase", "Rule", "RuleSet",
    "SEVERITIES", "SourceError", "build_ruleset", "parse_pack",
]
