export const helper = () => 'from helper';
