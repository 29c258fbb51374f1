import { z } from 'zod';

export const TaskStatus = z.enum(['todo', 'in_progress', 'blocked', 'done', 'cancelled']);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const TaskPriority = z.enum(['P0', 'P1', 'P2', 'P3']);
export type TaskPriority = z.infer<typeof TaskPriority>;
