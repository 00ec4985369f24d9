"""Self-checks of notebook 04's exercises (CAM with ResNet-18 on ALL-IDB)."""
from . import report

ASKED_LR = 1e-4  # exercise 1's text: torch.optim.Adam(trainable, lr=1e-4)


def exercise_1(optimizer, history):
    """Exercise 1: the optimiser that trained the network is Adam at lr 1e-4, and it trained (section 3)."""
    name = type(optimizer).__name__
    lr = optimizer.defaults.get("lr")  # as constructed (a scheduler may have lowered it since)
    trained = bool(history.get("train_loss")) and len(optimizer.state) > 0  # Adam keeps state once it has stepped
    return report("04 exercise 1 (optimiser)", [
        (name == "Adam", "the training cell's optimiser is torch.optim.Adam",
         f"the network was trained by {name}: change the `optimizer = ...` line of `train_resnet` (section 3) "
         f"and run that cell and the ones after it again"),
        (name == "Adam" and lr is not None and abs(lr - ASKED_LR) <= 1e-12,
         "its learning rate is the one the exercise asks for",
         "pass the learning rate of the exercise's text as lr=... to the optimiser"),
        (trained, "the network was trained with it (the history has training epochs)",
         "run the training cell after changing it, so that the new optimiser actually trains"),
    ])
