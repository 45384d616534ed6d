"""What every player of a model relies on, below export and inference: the :class:`~.protocol.StreamModel` interface
and the adapter that opens an in-memory model as one (:class:`~.adapters.EagerStreamModel`)."""
