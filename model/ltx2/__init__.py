"""The `ltx2` backend: the LTX-2 audio+video diffusion model through diffusers (the optional `[ltx2]` extra).

diffusers and transformers are imported when the model is loaded, so importing this package (for the options or the
folder checks) works without the extra.
"""

from model.ltx2.folder import ModelFolderError, check_model_folder
from model.ltx2.generator import LTX2Generator, plan_clip
from model.ltx2.options import LTX2Options, OptionsError

__all__ = [
    "LTX2Generator",
    "LTX2Options",
    "ModelFolderError",
    "OptionsError",
    "check_model_folder",
    "plan_clip",
]
