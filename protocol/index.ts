export * from './ids';
export * from './messages';
export * from './topics';
export * from './command-state';
export * from './command-options';
export * from './command-contract';
export * from './search-attributes';
export * from './late-answers-contract';
