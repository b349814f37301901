DROP TABLE ms_person_refs;
