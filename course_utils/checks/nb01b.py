"""Self-checks of notebook 01b's exercises (the cells right after exercises 3 and 4)."""
from torch import nn

from . import report


def _trainable(module):
    return [p.requires_grad for p in module.parameters()]


def exercise_3(clf, history):
    """Exercise 3: the stage-3 classifier trained its head only, with both pre-trained layers frozen."""
    encoder, head = clf.encoder, clf.head
    trained = len(history.get("train_loss", [])) > 0
    return report("exercise 3, freeze during fine-tuning", [
        (not any(_trainable(encoder)), "every parameter of the stacked encoder is frozen",
         "in the stage-3 cell that builds the classifier, pass False to training.set_trainable(encoder, ...)"),
        (all(_trainable(head)), "the head is still trainable",
         "freeze the encoder only (clf.encoder), not the whole classifier"),
        (trained, "stage 3 trained the classifier",
         "run the stage-3 training cell again after the change"),
    ])


def exercise_4(clf3):
    """Exercise 4: a classifier on three stacked pre-trained layers, hidden → hidden twice after the first."""
    if clf3 is None or not isinstance(getattr(clf3, "encoder", None), nn.Module):
        return report("exercise 4, a third layer", [
            (False, "a classifier named clf3 with an .encoder", "build clf3 = Classifier(three_layer_encoder, ...)")])
    layers = [m for m in clf3.encoder.modules() if isinstance(m, nn.Linear)]
    chained = all(a.out_features == b.in_features for a, b in zip(layers, layers[1:]))
    return report("exercise 4, a third layer", [
        (len(layers) == 3, "the encoder has three Linear layers",
         "stack first.encoder, second.encoder and the new stage's encoder"),
        (chained and len(layers) > 0 and layers[0].in_features == 784, "they chain from the 784 pixels",
         "layer 1 comes first, each layer takes the previous one's codes"),
        (all(_trainable(clf3)), "every layer is fine-tuned (nothing left frozen)",
         "unfreeze the stacked encoder with training.set_trainable(encoder, True) before stage 3"),
    ])
