DROP TABLE ms_logins;
DROP TABLE ms_sessions;
DROP TABLE ms_invitations;
DROP TABLE ms_users;
