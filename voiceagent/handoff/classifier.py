"""A second opinion on emergencies, for wording the policy's phrases do not cover.

Trained at load time (well under a second) from the policy file itself: every emergency
phrase is an example of its category, and the sensitive, human-request and frustration
phrases plus ``ordinary_requests`` are examples of "not an emergency". The model is the
intent classifier's recipe: TF-IDF over words (1-2-grams) and characters (3-5-grams inside
word boundaries, so misheard and glued words still share features) into a class-balanced
logistic regression; the category is that of the most similar emergency phrase.

It is a backstop, never the first word: the engine asks it only when no rule matched and a
red-flag word (``matching.red_flag_words``) was heard and not denied, and it counts only at
``thresholds.classifier_min`` probability or more. So "I'm almost out of my pills", which a
bag of words puts close to "took all my pills", never reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion


@dataclass(frozen=True)
class Guess:
    category: str
    probability: float
    nearest: str  # the policy phrase most like what was said (policy wording only)


class EmergencyClassifier:
    def __init__(self, positives: Sequence[tuple[str, str, str]], negatives: Sequence[str]) -> None:
        """``positives``: (category, normalised phrase, phrase as written in the policy);
        ``negatives``: normalised phrases."""
        texts = [text for _, text, _ in positives] + list(negatives)
        # Two questions, answered separately: "is this an emergency?" by a binary model
        # (one weight per feature, so it trains in a fraction of a second), and "which
        # one?" by the most similar emergency phrase.
        labels = [1] * len(positives) + [0] * len(negatives)
        self._features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
                ),
            ]
        )
        matrix = self._features.fit_transform(texts)
        self._model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000)
        self._model.fit(matrix, labels)
        self._positive_matrix = matrix[: len(positives)]
        self._positive_texts = [written for _, _, written in positives]
        self._positive_labels = [category for category, _, _ in positives]

    def guess(self, text: str) -> Guess | None:
        """The likeliest emergency category and the probability of an emergency."""
        if not text.strip():
            return None
        vector = self._features.transform([text])
        probability = float(self._model.predict_proba(vector)[0, 1])
        similarities = (self._positive_matrix @ vector.T).toarray().ravel()
        nearest = int(np.argmax(similarities))
        return Guess(self._positive_labels[nearest], probability, self._positive_texts[nearest])
