from edge.training.corpora import read_corpus, split_speakers


def test_urdu_split_is_speaker_disjoint_stratified_and_seeded():
    """The URDU split keeps each speaker on one side, every emotion on both; a seed fixes it."""
    urdu = read_corpus("urdu")
    train, test = split_speakers(urdu, 0.6, seed=7)
    assert set(train).isdisjoint(test)
    assert set(train) | set(test) == set(urdu.speakers)
    for side in (train, test):
        emotions = {c.label for c in urdu.clips if urdu.speaker(c) in side}
        assert emotions == {"angry", "happy", "neutral", "sad"}
    assert 0.5 < len(train) / len(urdu.speakers) < 0.7
    assert split_speakers(urdu, 0.6, seed=7) == (train, test)
    assert split_speakers(urdu, 0.6, seed=8) != (train, test)


def test_corpora_read_with_speakers_and_the_models_labels():
    """Every corpus reads into clips whose speakers resolve and whose emotions the truth uses."""
    baved, tess = read_corpus("baved"), read_corpus("tess")
    assert {c.emotion for c in baved.clips} == {"low", "neutral", "high"}
    assert {tess.speaker(c) for c in tess.clips} == {"OAF", "YAF"}
    labels = {"angry", "disgust", "fearful", "happy", "neutral", "surprised", "sad"}
    assert {c.label for c in tess.clips} == labels
