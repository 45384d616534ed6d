"""Data pipeline: fetch corpora (``sources``), prepare folders into shards (``prepare``), train crops (``dataset``).

Import the submodules directly (``from foleyvae.data.dataset import FoleyDataset``); this package imports nothing,
so ``foleyvae data fetch`` does not load torch.
"""
