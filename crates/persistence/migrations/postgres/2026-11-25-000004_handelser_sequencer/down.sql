DROP INDEX messages_unsequenced;
