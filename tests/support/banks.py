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

# Every answer type, a multiple-answer profile question driving a condition, a question in two CSF functions, and a
# machine-evidence question: the bank of the scoring vectors (tests/vectors/assess/scoring.yaml) and the service tests.
SCORING_BANK = """
id: scoring-bank
version: "1"
title: {en: Scoring bank, ja: 採点用質問集}
profile:
  - id: PROFILE.signing
    text: {en: "Signing technologies", ja: "署名技術"}
    answer:
      type: multiple
      choices:
        - {id: multisig, text: {en: Multisig, ja: マルチシグ}}
        - {id: mpc, text: {en: MPC, ja: MPC}}
        - {id: hsm, text: {en: HSM, ja: HSM}}
sections:
  - id: GV
    title: {en: Governance, ja: ガバナンス}
    guideline: "2.1"
    questions:
      - id: GV-1
        text: {en: "Strategy?", ja: "戦略はありますか。"}
        weight: 3
        answer: {type: ynpna}
        csf: [GV.OV-01]
      - id: GV-2
        text: {en: "Risk appetite?", ja: "リスク許容度は定めていますか。"}
        level: advanced
        weight: 1
        answer: {type: maturity}
        csf: [GV.RM-02, ID.RA-05]
  - id: CX
    title: {en: Crypto-assets, ja: 暗号資産}
    guideline: "2.3"
    questions:
      - id: CX-1
        text: {en: "Quorum?", ja: "承認の定足数は？"}
        weight: 5
        answer:
          type: single
          choices:
            - {id: three, text: {en: Three or more, ja: 3名以上}, score: 1}
            - {id: two, text: {en: Two, ja: 2名}, score: 0.6}
            - {id: one, text: {en: One, ja: 1名}, score: 0}
        csf: [PR.AA-05]
      - id: CX-2
        text: {en: "Which checks of what is signed?", ja: "署名内容の確認方法は？"}
        weight: 2
        answer:
          type: multiple
          choices:
            - {id: decode, text: {en: Independent decoding, ja: 独立したデコード}, score: 0.5}
            - {id: simulate, text: {en: Simulation, ja: シミュレーション}, score: 0.4}
            - {id: allowlist, text: {en: Allowlist, ja: 許可リスト}, score: 0.3}
        csf: [PR.DS-10, DE.CM-09]
      - id: CX-3
        text: {en: "MPC share refresh?", ja: "MPC の鍵シェア更新は？"}
        weight: 2
        answer: {type: ynpna}
        when: {question: PROFILE.signing, any_of: [mpc]}
        csf: [PR.AA-01]
      - id: CX-4
        text: {en: "Two employee approvers for cold wallets?", ja: "コールドウォレットの承認者は従業員2名以上ですか。"}
        weight: 4
        answer: {type: ynpna}
        machine: guard.cold-wallet-employee-quorum
        csf: [PR.AA-05]
"""
