"""A small question bank in the format of docs/assess-frameworks.md: a profile question, nested sections, each
answer type but multiple, a condition, guideline sections inherited and overridden."""

BANK = """
id: test-bank
version: "2026.1"
title: {en: Test bank, ja: テスト質問集}
profile:
  - id: PROFILE.ops
    text: {en: "Who runs the wallets?", ja: "ウォレットの運用者は？"}
    answer:
      type: single
      choices:
        - {id: in-house, text: {en: We do, ja: 自社}}
        - {id: outsourced, text: {en: A vendor, ja: 委託先}}
sections:
  - id: GV
    title: {en: Governance, ja: ガバナンス}
    guideline: "2.1"
    questions:
      - id: GV-001
        text: {en: "Is there a strategy?", ja: "戦略はありますか？"}
        level: basic
        weight: 3
        answer: {type: ynpna}
        evidence: [{en: Board minutes, ja: 取締役会議事録}]
        csf: [GV.OV-01]
    sections:
      - id: GV.SC
        title: {en: Suppliers, ja: 委託先}
        questions:
          - id: GV-002
            text: {en: "Are vendor accesses reviewed?", ja: "委託先のアクセスを見直していますか？"}
            level: advanced
            answer:
              type: single
              choices:
                - {id: all, text: {en: All, ja: すべて}, score: 1}
                - {id: some, text: {en: Some, ja: 一部}, score: 0.5}
            when: {question: PROFILE.ops, any_of: [outsourced]}
            csf: [GV.SC-07]
            guideline: ["2.6"]
  - id: CX
    title: {en: Crypto-assets, ja: 暗号資産}
    questions:
      - id: CX-001
        text: {en: "How mature is the signing ceremony?", ja: "署名手続きの成熟度は？"}
        answer: {type: maturity}
        csf: [PR.AA-05]
        guideline: "2.3"
"""
