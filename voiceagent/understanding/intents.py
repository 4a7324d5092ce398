"""Intent classification trained at load time from the admins' example phrases.

Model: TF-IDF over word 1-2-grams plus character 2-5-grams (inside word boundaries, so
whisper's misspellings and glued words still share features) into a linear SVM whose scores
are calibrated to probabilities by sigmoid fits on 3-fold cross-validation
(``CalibratedClassifierCV``). Measured against multinomial logistic regression on 5-fold
cross-validation of the shipped examples it was as accurate (0.84 both) and trains 6-8x faster
(~0.15 s vs ~1 s on 2 cores). Cross-validated calibration needs a few examples per class, so a
tiny training set (an admin's new flow with a handful of phrases) falls back to logistic
regression, which is probabilistic by construction.

One-vs-rest sigmoid fits renormalised over ~20 classes come out under-confident, so the
probabilities are sharpened by a fixed temperature (p ** (1 / T), renormalised). T = 0.6 was
chosen on out-of-fold predictions of 5-fold cross-validation over the shipped training
examples, where it minimised both the expected calibration error (0.19 -> 0.005) and the
log-loss; it does not change which intent wins.

Out of scope is an explicit class learned from ``dialogs/out-of-scope.yaml`` plus a floor:
the answer is None when that class wins or the best intent's probability is under
``threshold``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from voiceagent.understanding.text import normalize
from voiceagent.understanding.training import TrainingSet

OUT_OF_SCOPE = "out_of_scope"
DEFAULT_THRESHOLD = 0.3

# Closed classes whose members are interchangeable for intent: "do you take Humana" means
# the same as "do you take Cigna" even when Humana is in no example. Replacing members with
# a class word lets one example cover the class.
_CLASSES: dict[str, tuple[str, ...]] = {
    "carrier": (
        "aetna", "etna", "cigna", "signa", "humana", "medicare", "medicaid", "tricare", "kaiser",
        "anthem", "oscar", "molina", "ambetter", "wellcare", "highmark", "bcbs", "caresource",
        "united healthcare", "unitedhealthcare", "united health care", "blue cross blue shield",
        "blue cross", "blue shield", "emblem", "oxford", "centene", "amerigroup", "geisinger",
    ),
    "pharmacy": ("cvs", "walgreens", "rite aid", "walmart", "costco", "kroger", "publix"),
    "weekday": (
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "mondays", "tuesdays", "wednesdays", "thursdays", "fridays", "saturdays", "sundays",
    ),
    "month": (
        "january", "february", "march", "april", "june", "july", "august", "september",
        "october", "november", "december",
    ),
}  # fmt: skip
_CLASS_RES = [
    (
        re.compile(
            r"\b(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b"
        ),
        f" {name} ",
    )
    for name, words in _CLASSES.items()
]
_DIGITS = re.compile(r"\d{1,2}:\d{2}|\d+/\d+(?:/\d+)?|\d+(?:st|nd|rd|th)?")


def features_text(text: str) -> str:
    """The text the model sees: normalised, classes folded, digits as one symbol."""
    out = normalize(text).replace("'", "")
    for pattern, repl in _CLASS_RES:
        out = pattern.sub(repl, out)
    out = _DIGITS.sub(" num ", out)
    return " ".join(out.split())


@dataclass(frozen=True)
class IntentResult:
    """``intent`` is None when the utterance is out of scope or too uncertain."""

    intent: str | None
    confidence: float
    ranking: list[tuple[str, float]] = field(default_factory=list)


MIN_PER_CLASS_FOR_CALIBRATION = 8
TEMPERATURE = 0.6


def _build_pipeline(c: float, smallest_class: int) -> Pipeline:
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
        ]
    )
    model: CalibratedClassifierCV | LogisticRegression
    if smallest_class >= MIN_PER_CLASS_FOR_CALIBRATION:
        # A fixed seed: liblinear shuffles; the same examples train the same model.
        svm = LinearSVC(C=c, class_weight="balanced", random_state=0)
        model = CalibratedClassifierCV(svm, method="sigmoid", cv=3)
    else:
        model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
    return Pipeline([("features", features), ("model", model)])


class IntentClassifier:
    def __init__(self, pipeline: Pipeline, threshold: float, temperature: float = 1.0) -> None:
        self._pipeline = pipeline
        self.threshold = threshold
        self.temperature = temperature
        self.labels: list[str] = [str(c) for c in pipeline.classes_]

    @classmethod
    def train(
        cls, training_set: TrainingSet, *, threshold: float = DEFAULT_THRESHOLD, c: float = 0.5
    ) -> IntentClassifier:
        texts: list[str] = []
        labels: list[str] = []
        for intent, examples in training_set.intents.items():
            texts += examples
            labels += [intent] * len(examples)
        texts += training_set.out_of_scope
        labels += [OUT_OF_SCOPE] * len(training_set.out_of_scope)
        smallest = min(Counter(labels).values())
        pipeline = _build_pipeline(c, smallest)
        pipeline.fit([features_text(t) for t in texts], labels)
        calibrated = smallest >= MIN_PER_CLASS_FOR_CALIBRATION
        return cls(pipeline, threshold, TEMPERATURE if calibrated else 1.0)

    def classify(self, text: str) -> IntentResult:
        feats = features_text(text)
        if not feats:
            return IntentResult(None, 1.0, [(OUT_OF_SCOPE, 1.0)])
        probs = self._pipeline.predict_proba([feats])[0] ** (1.0 / self.temperature)
        probs = probs / probs.sum()
        order = np.argsort(probs)[::-1]
        ranking = [(self.labels[i], float(probs[i])) for i in order]
        best, confidence = ranking[0]
        if best == OUT_OF_SCOPE:
            return IntentResult(None, confidence, ranking)
        if confidence < self.threshold:
            # Confidence stays the intent's own probability so callers can see how close it was.
            return IntentResult(None, confidence, ranking)
        return IntentResult(best, confidence, ranking)
