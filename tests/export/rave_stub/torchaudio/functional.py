"""Not implemented in the stand-in (RAVE uses it only in dataset augmentation)."""


def resample(*args: object, **kwargs: object) -> None:
    raise NotImplementedError("torchaudio stand-in: resample is not available")
