"""The FSA's Cyber Security Self-Assessment (CSSA): question banks as data, assessments, scoring and reports."""
