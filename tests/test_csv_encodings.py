"""CSV encodings decided by a detector, not by the order of a list; decimal commas judged column by column; a
guessed encoding said in one warning line with the ids it gave."""
import logging

import pandas as pd

from src.readers.tables import read_table


def write(tmp_path, text, encoding, name="train.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_western_export_is_not_read_as_korean(tmp_path, caplog):
    path = write(tmp_path, "Index,Aneurysm,Notes\nÄrzte01,1,Überweisung\nÄrzte02,0,Größe normal\nMüller03,1,ok\n",
                 "cp1252")
    with caplog.at_level(logging.INFO, logger="harness"):
        frame = read_table(path, "Index")
    assert frame["Index"].tolist() == ["Ärzte01", "Ärzte02", "Müller03"]
    assert frame["Notes"].tolist() == ["Überweisung", "Größe normal", "ok"]
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and "Western cp1252" in lines[0] and "Ärzte01, Ärzte02, Müller03" in lines[0]


def test_korean_stays_korean(tmp_path):
    path = write(tmp_path, "Index,Aneurysm,비고\n환자01,1,동맥류 의심\n환자02,0,정상\n", "cp949")
    frame = read_table(path, "Index")
    assert frame["Index"].tolist() == ["환자01", "환자02"] and frame["비고"].tolist() == ["동맥류 의심", "정상"]


def test_decimal_commas_are_judged_per_column(tmp_path, caplog):
    text = "id;score;code;note\n001;0,25;1,2,3;a,b\n002;1,5;4,5,6;c\n003;2;7;d,e\n"
    path = write(tmp_path, text, "utf-8")
    with caplog.at_level(logging.INFO, logger="harness"):
        frame = read_table(path, "id")
    assert frame["id"].tolist() == ["001", "002", "003"]
    assert frame["score"].tolist() == [0.25, 1.5, 2.0]                      # numbers with decimal commas
    assert frame["code"].tolist() == ["1,2,3", "4,5,6", "7"]                # not numbers: left as written
    assert frame["note"].tolist() == ["a,b", "c", "d,e"]
    assert any("decimal commas in score" in r.getMessage() for r in caplog.records)
    plain = pd.read_csv(write(tmp_path, "id,x\n1,0.5\n", "utf-8", "plain.csv"))
    assert plain["x"].tolist() == [0.5]
