"""The listening page of ``foleyvae examples``: example sounds (:mod:`.sources`), tables rendered from the bundled
models (:mod:`.tables`), cells and their files (:mod:`.cells`, :mod:`.spectrogram`), HTML (:mod:`.page`), and the
whole build (:mod:`.build`)."""
