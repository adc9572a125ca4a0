"""Screen texts from an instructions file, with the key mapping always generated from the emotion list."""

import pytest

from experiment.keys import EMOTION_KEYS
from experiment.texts import SCREENS, TextsError, load_texts, shipped_path
from halfface.schema import EMOTIONS


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_texts_show_the_scored_key_mapping_in_the_emotion_list_order(language):
    texts = load_texts(language)
    assert texts.language == language and set(texts.screens) == set(SCREENS)
    lines = [line for line in texts.screen("emotion_question").splitlines() if " = " in line]
    assert lines == [f"{k} = {texts.emotion_names[e]}" for k, e in EMOTION_KEYS.items()]
    assert list(texts.emotion_names) == list(EMOTIONS)
    assert "{" not in texts.screen("instructions") + texts.screen("emotion_question")
    assert texts.screen("break", done=35, total=140).count("35") == 1 and "140" in texts.screen("break", done=1, total=140)


def test_chinese_texts_name_the_emotions_in_chinese_and_ask_for_a_cjk_font():
    texts = load_texts("zh")
    assert texts.emotion_names["happiness"] == "高兴" and "1 = 高兴" in texts.screen("emotion_question")
    assert "WenQuanYi Micro Hei" in texts.fonts


def _custom(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_lab_file_can_rename_emotions_but_not_drop_one_or_misspell_a_placeholder(tmp_path):
    english = shipped_path("en").read_text(encoding="utf-8")
    renamed = _custom(tmp_path, english.replace('happiness = "happiness"', 'happiness = "joy"'))
    assert "1 = joy" in load_texts(renamed).screen("emotion_question")
    missing = _custom(tmp_path, english.replace('fear = "fear"\n', ""))
    with pytest.raises(TextsError, match=r"mine.toml: \[emotions\] lacks a name for fear"):
        load_texts(missing)
    typo = _custom(tmp_path, english.replace("{emotion_keys}", "{emotion_key}"))
    with pytest.raises(TextsError, match=r"emotion_question has the placeholder \{emotion_key\}"):
        load_texts(typo)
    with pytest.raises(TextsError, match="not valid TOML"):
        load_texts(_custom(tmp_path, "screens = ["))
    with pytest.raises(TextsError, match="instructions file not found"):
        load_texts(tmp_path / "absent.toml")
