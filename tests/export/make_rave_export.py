"""Build a RAVE (acids-rave 2.3.1) export with random weights, v2_small config, through RAVE's own export code.

Run with the RAVE venv's Python (see make_rave_export.sh): ``python make_rave_export.py OUT.ts [--no-streaming]``.
Uses the Python API of ``rave export`` (scripts/export.py: VariationalScriptedRAVE + nn_tilde export_to_ts) because
the CLI needs a trained run folder; the steps are the same as its main(): cached convs on for streaming, gin
config, RAVE(), eval, remove weight norm, script, save.
"""

import sys

import cached_conv as cc
import gin
import torch


def main() -> int:
    out = sys.argv[1]
    streaming = "--no-streaming" not in sys.argv
    torch.manual_seed(0)
    cc.use_cached_conv(streaming)  # RAVE's process-wide switch: must precede building the model
    import rave
    import scripts.export as rave_export  # the module behind `rave export`

    gin.parse_config_file("v2_small.gin")
    gin.bind_parameter("rave.core.get_augmented_latent_size.latent_size", 16)  # v2_small default is 128
    gin.bind_parameter("%LATENT_SIZE", 16)
    model = rave.RAVE()
    model.eval()
    for m in model.modules():
        if hasattr(m, "weight_g"):
            torch.nn.utils.remove_weight_norm(m)
    scripted = rave_export.VariationalScriptedRAVE(pretrained=model, channels=None, fidelity=0.95, target_sr=None)
    z = scripted.encode(torch.zeros(1, 1, 2**14))
    scripted.decode(z)
    scripted.export_to_ts(out)
    print(f"wrote {out}: sr {scripted.sr}, latent {scripted.latent_size}/{scripted.full_latent_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
