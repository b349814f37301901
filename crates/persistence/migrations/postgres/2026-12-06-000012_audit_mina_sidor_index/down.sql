DROP INDEX audit_log_mina_sidor;
