DROP TABLE ms_login_marks;
