"""torchvision's ResNet-18 ImageNet weights without internet (notebooks 04 and 04b): where torchvision looks for
them, the checks a copy must pass, and `resnet18-weights --from FILE` of the data command, which imports a
downloaded copy into that folder. A file is never unpickled beyond plain tensors (torch.load weights_only=True)."""
import pickle
import re
import shutil
from pathlib import Path

from .atomic import file_sha256, write_atomically

URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"  # torchvision's ResNet18_Weights.IMAGENET1K_V1
HASH_PREFIX = re.compile(r"-([a-f0-9]+)\.")  # the sha256 prefix torchvision puts into its file names


class WeightsError(ValueError):
    """A weights file is not torchvision's ResNet-18: the message names the file, what is wrong and the fix."""


def official_name():
    """The file name torchvision downloads and looks for: resnet18-<sha256 prefix>.pth."""
    return URL.rpartition("/")[2]


def cached_path():
    """Where torchvision reads the weights: <torch.hub.get_dir()>/checkpoints/resnet18-f37072fd.pth ($TORCH_HOME)."""
    import torch
    return Path(torch.hub.get_dir()) / "checkpoints" / official_name()


def _fix():
    return f"Fix: download {URL} again (on a machine with internet) and pass that file"


def hash_problem(path):
    """Why a file's content does not carry the sha256 prefix of torchvision's file name, or None."""
    prefix = HASH_PREFIX.search(official_name()).group(1)
    found = file_sha256(path)
    if not found.startswith(prefix):
        return (f"{path} is not torchvision's {official_name()}: its sha256 starts {found[:len(prefix)]}, the "
                f"release's starts {prefix} (another file, or an incomplete download)")
    return None


def state_problem(state, path):
    """Why a loaded object is not a ResNet-18 state dict (keys and shapes of torchvision's resnet18()), or None."""
    import torch
    from torchvision.models import resnet18
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return f"{path} does not hold a state dict of tensors (found {type(state).__name__})"
    wanted = {k: tuple(v.shape) for k, v in resnet18().state_dict().items()}
    missing, extra = sorted(set(wanted) - set(state)), sorted(set(state) - set(wanted))
    if missing or extra:
        return (f"{path} is not a ResNet-18 state dict: {len(missing)} keys missing (e.g. {missing[:2]}), "
                f"{len(extra)} unexpected (e.g. {extra[:2]})")
    for key, shape in wanted.items():
        if tuple(state[key].shape) != shape:
            return f"{path}: {key} has shape {tuple(state[key].shape)}, ResNet-18's is {shape}"
    return None


def load_checked(path):
    """The state dict in `path` after every check (hash prefix, plain tensors only, keys, shapes); WeightsError."""
    import torch
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"{path} does not exist. {_fix()}")
    problem = hash_problem(path)
    if problem is None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:  # weights_only=True refused to build an object: nothing was executed
            problem = (f"{path} asks to build objects other than tensors when loaded; it was refused and nothing "
                       f"in it was run")
        except Exception as error:  # a truncated zip, not a torch file at all
            first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
            problem = f"{path} cannot be read as a torch weights file ({type(error).__name__}: {first})"
        else:
            problem = state_problem(state, path)
    if problem:
        raise WeightsError(f"{problem}. {_fix()}")
    return state


def import_weights(source):
    """`resnet18-weights --from FILE`: check a downloaded copy and put it where torchvision reads it."""
    source = Path(source).expanduser()
    load_checked(source)
    target = cached_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, lambda tmp: shutil.copyfile(source, tmp))
    except OSError as error:
        raise WeightsError(f"cannot write {target} ({error.strerror or error}). Fix: set TORCH_HOME to a writable "
                           f"folder (the notebooks must see the same TORCH_HOME)") from None
    return target


def status_row(command):
    """The status report's row for the weights: present (hash checked) / absent / unusable, with what to do
    (`command`: how the data command is called here)."""
    path = cached_path()
    row = {"dataset": "ResNet-18 weights", "path": str(path), "state": "present", "action": "nothing",
           "detail": "ImageNet weights for notebooks 04 and 04b (sha256 prefix checked)"}
    get = f"download {URL}, then: {command} resnet18-weights --from {official_name()}"
    if not path.is_file():
        return dict(row, state="absent", detail="notebooks 04 and 04b download them when online, else train "
                                                "from scratch", action=get)
    problem = hash_problem(path)
    if problem:
        return dict(row, state="unusable", detail=problem, action=get)
    return row
