"""Neural models: the char encoder, the joint NER + relation extractor, training and decoding."""
