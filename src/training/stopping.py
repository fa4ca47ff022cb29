"""When a fold stops, and which epoch it keeps: patience that only counts once the fold has had its chance."""
import math


class EarlyStopping:
    """Keeps the best validation score and decides when to stop.

    ``patience`` epochs without a better score stop the run, but never before ``min_epochs`` epochs have run:
    a model trained from scratch on few patients often stays near chance for many epochs and then takes off,
    so a stop during that warm-up ships a model that never learned. Scores are lists compared
    lexicographically (headline first, then a tie-breaker); higher is better.
    """

    def __init__(self, epochs, patience, min_epochs_fraction=0.0):
        self.epochs = int(epochs)
        self.patience = int(patience)
        self.min_epochs = min(self.epochs, math.ceil(float(min_epochs_fraction) * self.epochs))
        self.best, self.best_epoch, self.bad = [-math.inf, -math.inf], 0, 0

    def update(self, epoch, score):
        """Record the score of ``epoch`` (1-based); True when it is the best so far."""
        if score > self.best:
            self.best, self.best_epoch, self.bad = list(score), epoch, 0
            return True
        self.bad += 1
        return False

    def should_stop(self, epoch):
        return epoch >= self.min_epochs and self.bad >= self.patience

    def state_dict(self):
        return dict(best=self.best, best_epoch=self.best_epoch, bad_epochs=self.bad)

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.bad = state["best"], state["best_epoch"], state["bad_epochs"]
